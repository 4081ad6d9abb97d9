// `url`: the WHATWG `URL` and `URLSearchParams` (parsing by the natives, i.e. the `url`
// crate, which follows the URL Standard), and Node's legacy `url.parse`, `url.format`
// and `url.resolve`, which request-style clients still call.
'use strict';
const { natives } = internal;
const errors = require('internal/errors');
const querystring = require('querystring');
const { wellFormed } = require('internal/text_coding');

const customInspect = Symbol.for('nodejs.util.inspect.custom');
const PARTS = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port',
  'pathname', 'search', 'hash'];
const HREF = 0;
const SEARCH = 9;

function invalidUrl(input) {
  const error = errors.coded(TypeError, 'ERR_INVALID_URL', 'Invalid URL');
  error.input = input;
  return error;
}

function usv(value) {
  return wellFormed(String(value));
}

// --- application/x-www-form-urlencoded, as URLSearchParams reads and writes it.
function percentDecode(text) {
  if (!text.includes('%')) return text;
  const bytes = natives.utf8Encode(wellFormed(text));
  const out = new Uint8Array(bytes.length);
  let length = 0;
  for (let i = 0; i < bytes.length; i += 1) {
    const hex = (k) => {
      const c = bytes[k];
      return c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1;
    };
    if (bytes[i] === 37 && i + 2 < bytes.length && hex(i + 1) >= 0 && hex(i + 2) >= 0) {
      out[length] = hex(i + 1) * 16 + hex(i + 2);
      i += 2;
    } else {
      out[length] = bytes[i];
    }
    length += 1;
  }
  return natives.utf8Decode(out.subarray(0, length));
}

function parseParams(text) {
  const list = [];
  for (const piece of text.split('&')) {
    if (piece === '') continue;
    const at = piece.indexOf('=');
    const name = at >= 0 ? piece.slice(0, at) : piece;
    const value = at >= 0 ? piece.slice(at + 1) : '';
    list.push([percentDecode(name.replace(/\+/g, ' ')), percentDecode(value.replace(/\+/g, ' '))]);
  }
  return list;
}

const SAFE = /^[A-Za-z0-9*\-._]$/;
function formEncode(text) {
  let out = '';
  for (const byte of natives.utf8Encode(wellFormed(text))) {
    const c = String.fromCharCode(byte);
    if (byte === 0x20) out += '+';
    else if (byte < 0x80 && SAFE.test(c)) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

class URLSearchParams {
  #list = [];
  #url = null;

  constructor(init = undefined) {
    if (init === undefined || init === null) return;
    if (typeof init === 'object' || typeof init === 'function') {
      if (typeof init[Symbol.iterator] === 'function') {
        for (const pair of init) {
          const items = Array.from(pair);
          if (items.length !== 2) {
            throw errors.coded(TypeError, 'ERR_INVALID_TUPLE', 'Each query pair must be an iterable [name, value] tuple');
          }
          this.#list.push([usv(items[0]), usv(items[1])]);
        }
      } else {
        for (const name of Object.keys(init)) this.#list.push([usv(name), usv(init[name])]);
      }
      return;
    }
    const text = usv(init);
    this.#list = parseParams(text.startsWith('?') ? text.slice(1) : text);
  }

  // The URL whose query these are: each change is written back to it.
  static _linked(url, search) {
    const params = new URLSearchParams(search);
    params.#url = url;
    return params;
  }
  _reset(search) {
    this.#list = parseParams(search.startsWith('?') ? search.slice(1) : search);
  }
  #changed() {
    if (this.#url) this.#url._setSearchFromParams(this.toString());
  }

  get size() { return this.#list.length; }
  append(name, value) {
    this.#list.push([usv(name), usv(value)]);
    this.#changed();
  }
  delete(name, value) {
    name = usv(name);
    this.#list = this.#list.filter(([n, v]) => n !== name || (value !== undefined && v !== usv(value)));
    this.#changed();
  }
  get(name) {
    name = usv(name);
    const found = this.#list.find(([n]) => n === name);
    return found ? found[1] : null;
  }
  getAll(name) {
    name = usv(name);
    return this.#list.filter(([n]) => n === name).map(([, v]) => v);
  }
  has(name, value) {
    name = usv(name);
    return this.#list.some(([n, v]) => n === name && (value === undefined || v === usv(value)));
  }
  set(name, value) {
    name = usv(name);
    value = usv(value);
    const first = this.#list.findIndex(([n]) => n === name);
    if (first === -1) this.#list.push([name, value]);
    else {
      this.#list[first][1] = value;
      this.#list = this.#list.filter(([n], i) => n !== name || i === first);
    }
    this.#changed();
  }
  sort() {
    // Stable, by UTF-16 code units, as the standard says.
    this.#list = this.#list
      .map((pair, i) => [pair, i])
      .sort(([a, i], [b, j]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : i - j))
      .map(([pair]) => pair);
    this.#changed();
  }
  forEach(callback, thisArg = undefined) {
    if (typeof callback !== 'function') throw errors.invalidArgType('callback', 'of type function', callback);
    for (const [name, value] of this.#list.slice()) callback.call(thisArg, value, name, this);
  }
  *entries() { for (const [name, value] of this.#list.slice()) yield [name, value]; }
  *keys() { for (const [name] of this.#list.slice()) yield name; }
  *values() { for (const [, value] of this.#list.slice()) yield value; }
  [Symbol.iterator]() { return this.entries(); }
  toString() {
    return this.#list.map(([name, value]) => `${formEncode(name)}=${formEncode(value)}`).join('&');
  }
  get [Symbol.toStringTag]() { return 'URLSearchParams'; }
  [customInspect]() {
    const shown = this.#list.map(([n, v]) => `'${n}' => '${v}'`).join(', ');
    return `URLSearchParams {${shown ? ` ${shown} ` : ''}}`;
  }
}

class URL {
  #parts;
  #params = null;

  constructor(input, base = undefined) {
    if (arguments.length === 0) throw errors.coded(TypeError, 'ERR_MISSING_ARGS', 'The "url" argument must be specified');
    const text = usv(input);
    const parsed = base === undefined ? natives.urlParse(text) : natives.urlParse(text, usv(base));
    if (!parsed) throw invalidUrl(text);
    this.#parts = parsed;
  }

  static canParse(input, base = undefined) {
    return Boolean(base === undefined ? natives.urlParse(usv(input)) : natives.urlParse(usv(input), usv(base)));
  }
  static parse(input, base = undefined) {
    return URL.canParse(input, base) ? new URL(input, base) : null;
  }
  static createObjectURL() {
    throw errors.notAvailable('URL.createObjectURL()', 'there are no blob: URLs in handlers');
  }
  static revokeObjectURL() {}

  #set(part, value) {
    const next = natives.urlSet(this.#parts[HREF], part, usv(value));
    if (!next) {
      if (part === 'href') throw invalidUrl(usv(value));
      return;
    }
    this.#parts = next;
    if (this.#params && part !== 'searchParams') this.#params._reset(this.#parts[SEARCH]);
  }
  _setSearchFromParams(query) {
    const next = natives.urlSet(this.#parts[HREF], 'search', query);
    if (next) this.#parts = next;
  }

  get href() { return this.#parts[HREF]; }
  set href(value) { this.#set('href', value); }
  get origin() { return this.#parts[1]; }
  get protocol() { return this.#parts[2]; }
  set protocol(value) { this.#set('protocol', value); }
  get username() { return this.#parts[3]; }
  set username(value) { this.#set('username', value); }
  get password() { return this.#parts[4]; }
  set password(value) { this.#set('password', value); }
  get host() { return this.#parts[5]; }
  set host(value) { this.#set('host', value); }
  get hostname() { return this.#parts[6]; }
  set hostname(value) { this.#set('hostname', value); }
  get port() { return this.#parts[7]; }
  set port(value) { this.#set('port', value); }
  get pathname() { return this.#parts[8]; }
  set pathname(value) { this.#set('pathname', value); }
  get search() { return this.#parts[SEARCH]; }
  set search(value) { this.#set('search', value); }
  get hash() { return this.#parts[10]; }
  set hash(value) { this.#set('hash', value); }
  get searchParams() {
    if (!this.#params) this.#params = URLSearchParams._linked(this, this.#parts[SEARCH]);
    return this.#params;
  }
  toString() { return this.#parts[HREF]; }
  toJSON() { return this.#parts[HREF]; }
  get [Symbol.toStringTag]() { return 'URL'; }
  [customInspect]() {
    const shown = PARTS.map((name, i) => `  ${name}: '${this.#parts[i]}'`).join(',\n');
    return `URL {\n${shown},\n  searchParams: ${this.searchParams[customInspect]()}\n}`;
  }
}

// --- Node's legacy API.
const SLASHED = new Set(['http:', 'https:', 'ftp:', 'gopher:', 'file:', 'ws:', 'wss:']);
const HOSTLESS = new Set(['javascript:', 'mailto:', 'data:']);
const AUTO_ESCAPE = /[{}|\\^`'\s"<>]/g;

function Url() {
  this.protocol = null;
  this.slashes = null;
  this.auth = null;
  this.host = null;
  this.port = null;
  this.hostname = null;
  this.hash = null;
  this.search = null;
  this.query = null;
  this.pathname = null;
  this.path = null;
  this.href = null;
}

Url.prototype.parse = function parse(input, parseQueryString, slashesDenoteHost) {
  if (typeof input !== 'string') throw errors.invalidArgType('url', 'of type string', input);
  let rest = input.trim();
  // Backslashes before the query count as slashes, as in browsers.
  const queryAt = rest.search(/[?#]/);
  const head = queryAt === -1 ? rest : rest.slice(0, queryAt);
  rest = head.replace(/\\/g, '/') + (queryAt === -1 ? '' : rest.slice(queryAt));
  const hashAt = rest.indexOf('#');
  if (hashAt !== -1) {
    this.hash = rest.slice(hashAt).replace(AUTO_ESCAPE, encodeURIComponent);
    rest = rest.slice(0, hashAt);
  }
  const searchAt = rest.indexOf('?');
  if (searchAt !== -1) {
    this.search = rest.slice(searchAt).replace(AUTO_ESCAPE, encodeURIComponent);
    this.query = this.search.slice(1);
    rest = rest.slice(0, searchAt);
  } else if (parseQueryString) {
    this.search = '';
    this.query = {};
  }
  const protocol = /^([a-z0-9.+-]+:)/i.exec(rest);
  if (protocol) {
    this.protocol = protocol[1].toLowerCase();
    rest = rest.slice(protocol[1].length);
  }
  if ((slashesDenoteHost || protocol || /^\/\/[^@/]+@[^@/]+/.test(rest)) && rest.startsWith('//')
      && !(this.protocol && HOSTLESS.has(this.protocol))) {
    rest = rest.slice(2);
    this.slashes = true;
  }
  if (!HOSTLESS.has(this.protocol) && (this.slashes || (this.protocol && !SLASHED.has(this.protocol)))) {
    const end = rest.indexOf('/');
    let host = end === -1 ? rest : rest.slice(0, end);
    rest = end === -1 ? '' : rest.slice(end);
    const at = host.lastIndexOf('@');
    if (at !== -1) {
      this.auth = decodeURIComponent(host.slice(0, at));
      host = host.slice(at + 1);
    }
    const port = /:([0-9]*)$/.exec(host);
    if (port) {
      if (port[1]) this.port = port[1];
      host = host.slice(0, host.length - port[0].length);
    }
    const ipv6 = host.startsWith('[') && host.endsWith(']');
    let hostname = (ipv6 ? host.slice(1, -1) : host).toLowerCase();
    if (!ipv6 && /[^\0-\x7f]/.test(hostname)) hostname = natives.domainToASCII(hostname) || hostname;
    this.hostname = hostname;
    this.host = (ipv6 ? `[${hostname}]` : hostname) + (this.port ? `:${this.port}` : '');
    if (SLASHED.has(this.protocol) && rest === '') rest = '/';
  }
  if (rest !== '') this.pathname = rest.replace(AUTO_ESCAPE, encodeURIComponent);
  else if (this.hostname && SLASHED.has(this.protocol)) this.pathname = '/';
  if (parseQueryString && typeof this.query === 'string') this.query = querystring.parse(this.query);
  if (this.pathname !== null || this.search !== null) this.path = (this.pathname || '') + (this.search || '');
  this.href = this.format();
  return this;
};

Url.prototype.format = function format() {
  let auth = this.auth || '';
  if (auth) auth = `${encodeURIComponent(auth).replace(/%3A/i, ':')}@`;
  let protocol = this.protocol || '';
  if (protocol && !protocol.endsWith(':')) protocol += ':';
  let pathname = this.pathname || '';
  let hash = this.hash || '';
  let host = '';
  if (this.host) host = auth + this.host;
  else if (this.hostname) {
    host = auth + (this.hostname.includes(':') ? `[${this.hostname}]` : this.hostname);
    if (this.port) host += `:${this.port}`;
  }
  let search = this.search || '';
  if (!search && this.query && typeof this.query === 'object' && Object.keys(this.query).length) {
    search = `?${querystring.stringify(this.query)}`;
  }
  if (this.slashes || ((!protocol || SLASHED.has(protocol)) && host)) {
    host = `//${host}`;
    if (pathname && pathname[0] !== '/') pathname = `/${pathname}`;
  }
  if (hash && hash[0] !== '#') hash = `#${hash}`;
  if (search && search[0] !== '?') search = `?${search}`;
  pathname = pathname.replace(/[?#]/g, encodeURIComponent);
  search = search.replace('#', '%23');
  return protocol + host + pathname + search + hash;
};

Url.prototype.resolve = function resolve(relative) {
  return resolveUrl(this.format(), relative);
};

function parse(input, parseQueryString, slashesDenoteHost) {
  if (input instanceof Url) return input;
  return new Url().parse(input, parseQueryString, slashesDenoteHost);
}

function format(object, options) {
  if (typeof object === 'string') return parse(object).format();
  if (object instanceof URL) {
    const url = new URL(object.href);
    const opts = { auth: true, fragment: true, search: true, unicode: false, ...options };
    if (!opts.auth) {
      url.username = '';
      url.password = '';
    }
    if (!opts.fragment) url.hash = '';
    if (!opts.search) url.search = '';
    let href = url.href;
    if (opts.unicode) href = href.replace(url.hostname, natives.domainToUnicode(url.hostname));
    return href;
  }
  if (object === null || typeof object !== 'object') throw errors.invalidArgType('urlObject', 'one of type object or string', object);
  return Url.prototype.format.call(object);
}

const FAKE_BASE = 'http://weir.invalid';
function resolveUrl(from, to) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(from)) return new URL(to, from).href;
  const base = new URL(from, `${FAKE_BASE}/`);
  const resolved = new URL(to, base);
  if (resolved.origin !== FAKE_BASE) return resolved.href;
  const path = resolved.pathname + resolved.search + resolved.hash;
  return from.startsWith('/') ? path : path.slice(1);
}

function fileURLToPath(url) {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  if (!(parsed instanceof URL)) throw errors.invalidArgType('path', 'of type string or an instance of URL', url);
  if (parsed.protocol !== 'file:') throw errors.coded(TypeError, 'ERR_INVALID_URL_SCHEME', 'The URL must be of scheme file');
  if (parsed.hostname !== '') {
    throw errors.coded(TypeError, 'ERR_INVALID_FILE_URL_HOST', 'File URL host must be "localhost" or empty on linux');
  }
  if (/%2f/i.test(parsed.pathname)) {
    throw errors.coded(TypeError, 'ERR_INVALID_FILE_URL_PATH', 'File URL path must not include encoded / characters');
  }
  return decodeURIComponent(parsed.pathname);
}

function pathToFileURL(path) {
  const resolved = require('path').resolve(path) + (path.endsWith('/') && path !== '/' ? '/' : '');
  const url = new URL('file://');
  url.pathname = resolved.replace(/%/g, '%25').replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/\t/g, '%09');
  return url;
}

function urlToHttpOptions(url) {
  const options = {
    protocol: url.protocol,
    hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    hash: url.hash,
    search: url.search,
    pathname: url.pathname,
    path: `${url.pathname || ''}${url.search || ''}`,
    href: url.href,
  };
  if (url.port !== '') options.port = Number(url.port);
  if (url.username || url.password) {
    options.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  }
  return options;
}

module.exports = {
  URL,
  URLSearchParams,
  Url,
  parse,
  format,
  resolve: resolveUrl,
  resolveObject: (from, to) => parse(resolveUrl(typeof from === 'string' ? from : format(from), to)),
  domainToASCII: (domain) => natives.domainToASCII(String(domain)),
  domainToUnicode: (domain) => natives.domainToUnicode(String(domain)),
  fileURLToPath,
  pathToFileURL,
  urlToHttpOptions,
};
