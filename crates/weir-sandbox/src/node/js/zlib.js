// `zlib`: deflate, inflate, gzip, gunzip, their raw forms and unzip, through the natives
// (flate2). The stream forms (`createGunzip()` …) collect their input and process it
// whole when it ends: right for HTTP bodies, the use apps have. Brotli and zstd are not
// offered: `axios` checks for `createBrotliDecompress` and then never asks for them.
'use strict';
const { natives } = internal;
const { Transform } = require('stream');
const errors = require('internal/errors');

const constants = {
  Z_NO_FLUSH: 0, Z_PARTIAL_FLUSH: 1, Z_SYNC_FLUSH: 2, Z_FULL_FLUSH: 3, Z_FINISH: 4, Z_BLOCK: 5,
  Z_OK: 0, Z_STREAM_END: 1, Z_NEED_DICT: 2, Z_ERRNO: -1, Z_STREAM_ERROR: -2, Z_DATA_ERROR: -3,
  Z_MEM_ERROR: -4, Z_BUF_ERROR: -5, Z_VERSION_ERROR: -6,
  Z_NO_COMPRESSION: 0, Z_BEST_SPEED: 1, Z_BEST_COMPRESSION: 9, Z_DEFAULT_COMPRESSION: -1,
  Z_FILTERED: 1, Z_HUFFMAN_ONLY: 2, Z_RLE: 3, Z_FIXED: 4, Z_DEFAULT_STRATEGY: 0, ZLIB_VERNUM: 4865,
  DEFLATE: 1, INFLATE: 2, GZIP: 3, GUNZIP: 4, DEFLATERAW: 5, INFLATERAW: 6, UNZIP: 7,
  Z_MIN_WINDOWBITS: 8, Z_MAX_WINDOWBITS: 15, Z_DEFAULT_WINDOWBITS: 15,
  Z_MIN_CHUNK: 64, Z_MAX_CHUNK: Infinity, Z_DEFAULT_CHUNK: 16384,
  Z_MIN_MEMLEVEL: 1, Z_MAX_MEMLEVEL: 9, Z_DEFAULT_MEMLEVEL: 8,
  Z_MIN_LEVEL: -1, Z_MAX_LEVEL: 9, Z_DEFAULT_LEVEL: -1,
};

function bytesOf(input) {
  if (typeof input === 'string') return Buffer.from(input);
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw errors.invalidArgType('buffer', 'of type string or an instance of Buffer, TypedArray, DataView, or ArrayBuffer', input);
}

function run(operation, input, options) {
  const level = options && typeof options.level === 'number' && options.level >= 0 ? options.level : 6;
  const limit = options && typeof options.maxOutputLength === 'number' ? options.maxOutputLength : -1;
  try {
    const out = natives.zlib(operation, bytesOf(input), level, limit);
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  } catch (error) {
    const failure = new Error(error.message);
    failure.code = error.message.startsWith('the output is larger') ? 'ERR_BUFFER_TOO_LARGE' : 'Z_DATA_ERROR';
    failure.errno = constants.Z_DATA_ERROR;
    throw failure;
  }
}

// A Transform that gathers its input and processes it when the input ends.
function ZlibStream(operation, options) {
  if (!(this instanceof ZlibStream)) return new ZlibStream(operation, options);
  Transform.call(this, options);
  this._operation = operation;
  this._options = options || {};
  this._chunks = [];
  this.bytesWritten = 0;
}
Object.setPrototypeOf(ZlibStream.prototype, Transform.prototype);
Object.setPrototypeOf(ZlibStream, Transform);
ZlibStream.prototype._transform = function _transform(chunk, encoding, callback) {
  this._chunks.push(chunk);
  this.bytesWritten += chunk.length;
  callback();
};
ZlibStream.prototype._flush = function _flush(callback) {
  const input = Buffer.concat(this._chunks);
  this._chunks = [];
  if (input.length === 0 && this._operation !== 'deflate' && this._operation !== 'gzip' && this._operation !== 'deflateRaw') {
    callback();
    return;
  }
  let out;
  try {
    out = run(this._operation, input, this._options);
  } catch (error) {
    callback(error);
    return;
  }
  callback(null, out);
};
ZlibStream.prototype.flush = function flush(kind, callback) {
  const done = typeof kind === 'function' ? kind : callback;
  if (typeof done === 'function') process.nextTick(done);
};
ZlibStream.prototype.params = function params(level, strategy, callback) {
  this._options = { ...this._options, level };
  if (typeof callback === 'function') process.nextTick(callback);
};
ZlibStream.prototype.reset = function reset() {
  this._chunks = [];
};
ZlibStream.prototype.close = function close(callback) {
  if (typeof callback === 'function') this.once('close', callback);
  this.destroy();
};

const zlib = { constants, codes: {}, ZlibBase: ZlibStream, Zlib: ZlibStream };
Object.assign(zlib, constants);
const OPERATIONS = {
  deflate: 'Deflate', inflate: 'Inflate', gzip: 'Gzip', gunzip: 'Gunzip',
  deflateRaw: 'DeflateRaw', inflateRaw: 'InflateRaw', unzip: 'Unzip',
};
for (const [operation, Name] of Object.entries(OPERATIONS)) {
  function Kind(options) {
    if (!(this instanceof Kind)) return new Kind(options);
    ZlibStream.call(this, operation, options);
  }
  Object.defineProperty(Kind, 'name', { value: Name });
  Object.setPrototypeOf(Kind.prototype, ZlibStream.prototype);
  Object.setPrototypeOf(Kind, ZlibStream);
  zlib[Name] = Kind;
  zlib[`create${Name}`] = (options) => new Kind(options);
  zlib[`${operation}Sync`] = (input, options) => run(operation, input, options);
  zlib[operation] = (input, options, callback) => {
    if (typeof options === 'function') {
      callback = options;
      options = {};
    }
    let out;
    let failure = null;
    try {
      out = run(operation, input, options);
    } catch (error) {
      failure = error;
    }
    process.nextTick(() => callback(failure, out));
  };
}
zlib.crc32 = function crc32(data, value = 0) {
  const bytes = bytesOf(data);
  let crc = ~value >>> 0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k += 1) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
};

module.exports = zlib;
