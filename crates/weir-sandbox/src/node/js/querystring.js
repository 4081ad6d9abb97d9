// `querystring`: Node's own form of query strings (repeated keys become arrays, `+` is
// a space), which request-style clients still use.
'use strict';

function unescape(text) {
  try {
    return decodeURIComponent(text);
  } catch (e) {
    // Malformed escapes are kept as they are, byte by byte, as Node's fallback does.
    return text.replace(/%([0-9a-fA-F]{2})/g, (match, hex) => {
      const code = parseInt(hex, 16);
      return code < 0x80 ? String.fromCharCode(code) : match;
    });
  }
}

function escape(text) {
  return encodeURIComponent(typeof text === 'string' ? text : String(text));
}

function stringifyPrimitive(value) {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return '';
}

function stringify(object, sep = '&', eq = '=', options) {
  const encode = (options && typeof options.encodeURIComponent === 'function') ? options.encodeURIComponent : escape;
  if (object === null || typeof object !== 'object') return '';
  const pairs = [];
  for (const name of Object.keys(object)) {
    const value = object[name];
    const key = encode(stringifyPrimitive(name)) + eq;
    if (Array.isArray(value)) {
      for (const item of value) pairs.push(key + encode(stringifyPrimitive(item)));
    } else {
      pairs.push(key + encode(stringifyPrimitive(value)));
    }
  }
  return pairs.join(sep);
}

function parse(text, sep = '&', eq = '=', options) {
  const out = Object.create(null);
  if (typeof text !== 'string' || text.length === 0) return out;
  const maxKeys = options && typeof options.maxKeys === 'number' ? options.maxKeys : 1000;
  const decode = (options && typeof options.decodeURIComponent === 'function') ? options.decodeURIComponent : unescape;
  let pieces = text.split(sep || '&');
  if (maxKeys > 0) pieces = pieces.slice(0, maxKeys);
  for (const piece of pieces) {
    if (piece.length === 0) continue;
    const at = piece.indexOf(eq || '=');
    const rawKey = at >= 0 ? piece.slice(0, at) : piece;
    const rawValue = at >= 0 ? piece.slice(at + (eq || '=').length) : '';
    const key = decode(rawKey.replace(/\+/g, ' '));
    const value = decode(rawValue.replace(/\+/g, ' '));
    if (!Object.prototype.hasOwnProperty.call(out, key)) out[key] = value;
    else if (Array.isArray(out[key])) out[key].push(value);
    else out[key] = [out[key], value];
  }
  return out;
}

module.exports = {
  parse,
  decode: parse,
  stringify,
  encode: stringify,
  escape,
  unescape,
  unescapeBuffer: (text) => Buffer.from(unescape(String(text))),
};
