// TextEncoder and TextDecoder (WHATWG Encoding): UTF-8 through the natives, UTF-16LE and
// latin1 in JavaScript. `decode(…, {stream: true})` keeps an unfinished UTF-8 sequence
// for the next chunk.
'use strict';
const { natives } = internal;
const errors = require('internal/errors');

// A string the natives can take: lone surrogates become U+FFFD, as UTF-8 writes them.
function wellFormed(text) {
  return text.isWellFormed() ? text : text.toWellFormed();
}

function bytesOf(input) {
  if (input === undefined) return new Uint8Array(0);
  if (input instanceof Uint8Array) return input;
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (input instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && input instanceof SharedArrayBuffer)) {
    return new Uint8Array(input);
  }
  throw errors.invalidArgType('input', 'an instance of ArrayBuffer or ArrayBufferView', input);
}

class TextEncoder {
  get encoding() { return 'utf-8'; }
  encode(input = '') {
    return natives.utf8Encode(wellFormed(String(input)));
  }
  encodeInto(source, destination) {
    const bytes = this.encode(source);
    // Whole characters only: never split a sequence at the end of `destination`.
    let written = Math.min(bytes.length, destination.length);
    while (written > 0 && written < bytes.length && (bytes[written] & 0xc0) === 0x80) written -= 1;
    destination.set(bytes.subarray(0, written));
    const read = natives.utf8Decode(bytes.subarray(0, written)).length;
    return { read, written };
  }
  get [Symbol.toStringTag]() { return 'TextEncoder'; }
}

const LABELS = {
  'utf-8': 'utf-8', utf8: 'utf-8', 'unicode-1-1-utf-8': 'utf-8',
  'utf-16le': 'utf-16le', 'utf-16': 'utf-16le',
  latin1: 'windows-1252', 'iso-8859-1': 'windows-1252', 'windows-1252': 'windows-1252',
  ascii: 'windows-1252', 'us-ascii': 'windows-1252',
};

// How many bytes at the end of `bytes` start a UTF-8 sequence not yet complete.
function unfinished(bytes) {
  for (let back = 1; back <= Math.min(3, bytes.length); back += 1) {
    const byte = bytes[bytes.length - back];
    if ((byte & 0xc0) !== 0x80) {
      const needs = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
      return needs > back ? back : 0;
    }
  }
  return 0;
}

class TextDecoder {
  constructor(label = 'utf-8', options = {}) {
    const encoding = LABELS[String(label).trim().toLowerCase()];
    if (!encoding) {
      throw errors.coded(RangeError, 'ERR_ENCODING_NOT_SUPPORTED', `The "${label}" encoding is not supported`);
    }
    this._encoding = encoding;
    this._fatal = Boolean(options && options.fatal);
    this._ignoreBOM = Boolean(options && options.ignoreBOM);
    this._pending = new Uint8Array(0);
    this._started = false;
  }
  get encoding() { return this._encoding; }
  get fatal() { return this._fatal; }
  get ignoreBOM() { return this._ignoreBOM; }
  decode(input, options = {}) {
    let bytes = bytesOf(input);
    const stream = Boolean(options && options.stream);
    if (this._pending.length) {
      const joined = new Uint8Array(this._pending.length + bytes.length);
      joined.set(this._pending);
      joined.set(bytes, this._pending.length);
      bytes = joined;
      this._pending = new Uint8Array(0);
    }
    let text;
    if (this._encoding === 'utf-8') {
      const keep = stream ? unfinished(bytes) : 0;
      if (keep) {
        this._pending = bytes.slice(bytes.length - keep);
        bytes = bytes.subarray(0, bytes.length - keep);
      }
      text = natives.utf8Decode(bytes);
      if (this._fatal && text.includes('\ufffd') && !isUtf8(bytes)) {
        throw errors.coded(TypeError, 'ERR_ENCODING_INVALID_ENCODED_DATA',
                           'The encoded data was not valid for encoding utf-8');
      }
    } else if (this._encoding === 'utf-16le') {
      const even = bytes.length - (bytes.length % 2);
      if (stream && even < bytes.length) this._pending = bytes.slice(even);
      text = utf16(bytes.subarray(0, even));
    } else {
      text = latin1(bytes);
    }
    if (!this._ignoreBOM && !this._started && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    this._started = stream;
    return text;
  }
  get [Symbol.toStringTag]() { return 'TextDecoder'; }
}

function latin1(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
  }
  return text;
}

function utf16(bytes) {
  let text = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) text += String.fromCharCode(bytes[i] | (bytes[i + 1] << 8));
  return text;
}

// Whether `bytes` is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
function isUtf8(bytes) {
  let i = 0;
  while (i < bytes.length) {
    const byte = bytes[i];
    if (byte < 0x80) { i += 1; continue; }
    let needs;
    let min;
    if (byte >= 0xc2 && byte <= 0xdf) { needs = 1; min = 0x80; }
    else if (byte >= 0xe0 && byte <= 0xef) { needs = 2; min = 0x800; }
    else if (byte >= 0xf0 && byte <= 0xf4) { needs = 3; min = 0x10000; }
    else return false;
    if (i + needs >= bytes.length) return false;
    let point = byte & (0x3f >> needs);
    for (let k = 1; k <= needs; k += 1) {
      const next = bytes[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return false;
      point = (point << 6) | (next & 0x3f);
    }
    if (point < min || point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff)) return false;
    i += needs + 1;
  }
  return true;
}

module.exports = { TextEncoder, TextDecoder, wellFormed, latin1, isUtf8 };
