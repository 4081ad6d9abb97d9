// `path`: POSIX paths (the sandbox's working directory is `/`). `path.win32` is the same
// POSIX implementation: handlers run on no Windows host.
'use strict';
const errors = require('internal/errors');

function check(name, value) {
  if (typeof value !== 'string') throw errors.invalidArgType(name, 'of type string', value);
}

// `.` and `..` resolved; `..` above the root of an absolute path is dropped.
function normalizeSegments(path, absolute) {
  const out = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
    } else {
      out.push(segment);
    }
  }
  return out;
}

function normalize(path) {
  check('path', path);
  if (path === '') return '.';
  const absolute = path.startsWith('/');
  const trailing = path.endsWith('/');
  let joined = normalizeSegments(path, absolute).join('/');
  if (joined === '' && !absolute) joined = '.';
  if (joined !== '' && trailing) joined += '/';
  return absolute ? `/${joined}` : joined;
}

function join(...parts) {
  for (const part of parts) check('path', part);
  const joined = parts.filter((part) => part !== '').join('/');
  return joined === '' ? '.' : normalize(joined);
}

function resolve(...parts) {
  let resolved = '';
  for (let i = parts.length - 1; i >= -1 && !resolved.startsWith('/'); i -= 1) {
    const part = i >= 0 ? parts[i] : process.cwd();
    check('paths[' + i + ']', part);
    if (part === '') continue;
    resolved = resolved === '' ? part : `${part}/${resolved}`;
  }
  const segments = normalizeSegments(resolved, true);
  return `/${segments.join('/')}`;
}

function isAbsolute(path) {
  check('path', path);
  return path.startsWith('/');
}

function relative(from, to) {
  check('from', from);
  check('to', to);
  const a = resolve(from).split('/').filter(Boolean);
  const b = resolve(to).split('/').filter(Boolean);
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common += 1;
  return [...a.slice(common).map(() => '..'), ...b.slice(common)].join('/');
}

function dirname(path) {
  check('path', path);
  if (path === '') return '.';
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const slash = trimmed.lastIndexOf('/');
  if (slash === -1) return '.';
  if (slash === 0) return '/';
  return trimmed.slice(0, slash).replace(/\/+$/, '') || '/';
}

function basename(path, suffix) {
  check('path', path);
  if (suffix !== undefined) check('suffix', suffix);
  const trimmed = path.replace(/\/+$/, '');
  let base = trimmed.slice(trimmed.lastIndexOf('/') + 1);
  if (suffix !== undefined && base.endsWith(suffix) && base !== suffix) base = base.slice(0, -suffix.length);
  return base;
}

function extname(path) {
  check('path', path);
  const base = basename(path);
  const dot = base.lastIndexOf('.');
  if (dot <= 0 || base === '..') return '';
  return base.slice(dot);
}

function parse(path) {
  check('path', path);
  const root = path.startsWith('/') ? '/' : '';
  const base = basename(path);
  const ext = extname(path);
  let dir = dirname(path);
  if (dir === '.' && !path.includes('/')) dir = '';
  return { root, dir, base, ext, name: ext ? base.slice(0, -ext.length) : base };
}

function format(parts) {
  if (parts === null || typeof parts !== 'object') throw errors.invalidArgType('pathObject', 'of type object', parts);
  const dir = parts.dir || parts.root || '';
  const base = parts.base || `${parts.name || ''}${parts.ext ? (parts.ext.startsWith('.') ? '' : '.') + parts.ext : ''}`;
  if (!dir) return base;
  return dir === parts.root ? `${dir}${base}` : `${dir}/${base}`;
}

const path = {
  sep: '/',
  delimiter: ':',
  normalize,
  join,
  resolve,
  isAbsolute,
  relative,
  dirname,
  basename,
  extname,
  parse,
  format,
  toNamespacedPath: (p) => p,
  matchesGlob: undefined,
};
path.posix = path;
path.win32 = path;
module.exports = path;
