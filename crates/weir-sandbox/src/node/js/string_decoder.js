// `string_decoder`: bytes to text across chunk boundaries: a multi-byte UTF-8 character
// (or a UTF-16 unit, or a base64 group) split between two chunks is written whole.
'use strict';
const errors = require('internal/errors');

const NORMAL = { utf8: 'utf8', 'utf-8': 'utf8', ucs2: 'utf16le', 'ucs-2': 'utf16le', utf16le: 'utf16le',
  'utf-16le': 'utf16le', latin1: 'latin1', binary: 'latin1', base64: 'base64', base64url: 'base64url',
  ascii: 'ascii', hex: 'hex' };

// How many bytes at the end of `bytes` start a UTF-8 character that is not complete.
function incompleteUtf8(bytes) {
  for (let back = 1; back <= Math.min(3, bytes.length); back += 1) {
    const byte = bytes[bytes.length - back];
    if ((byte & 0xc0) !== 0x80) {
      const needs = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
      return needs > back ? back : 0;
    }
  }
  return 0;
}

function StringDecoder(encoding) {
  const normal = NORMAL[String(encoding === undefined ? 'utf8' : encoding).toLowerCase()];
  if (!normal) throw errors.unknownEncoding(encoding);
  this.encoding = normal;
  this._pending = Buffer.alloc(0);
}

StringDecoder.prototype.write = function write(chunk) {
  if (typeof chunk === 'string') return chunk;
  let bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer || chunk, chunk.byteOffset, chunk.byteLength);
  if (this._pending.length) bytes = Buffer.concat([this._pending, bytes]);
  let keep = 0;
  if (this.encoding === 'utf8') keep = incompleteUtf8(bytes);
  else if (this.encoding === 'utf16le') {
    keep = bytes.length % 2;
    // A high surrogate waits for its low half.
    const end = bytes.length - keep;
    if (end >= 2 && (bytes[end - 1] & 0xfc) === 0xd8) keep += 2;
  } else if (this.encoding === 'base64' || this.encoding === 'base64url') keep = bytes.length % 3;
  this._pending = Buffer.from(bytes.subarray(bytes.length - keep));
  return bytes.toString(this.encoding, 0, bytes.length - keep);
};

StringDecoder.prototype.end = function end(chunk) {
  let text = chunk === undefined ? '' : this.write(chunk);
  if (this._pending.length) {
    text += this.encoding === 'utf8' ? '\ufffd' : this._pending.toString(this.encoding);
    this._pending = Buffer.alloc(0);
  }
  return text;
};

StringDecoder.prototype.text = function text(bytes, offset) {
  return this.write(bytes.subarray(offset));
};

Object.defineProperty(StringDecoder.prototype, 'lastNeed', {
  get() { return this._pending.length ? 1 : 0; },
});

module.exports = { StringDecoder };
