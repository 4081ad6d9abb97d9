// `buffer`: Node's Buffer, a Uint8Array with encodings and the read/write helpers that
// packages use. Bytes live in QuickJS's own memory, counted against the invocation.
// Encodings: utf8, hex, base64, base64url (through the natives), latin1/binary, ascii,
// utf16le/ucs2 (here).
'use strict';
const { natives } = internal;
const errors = require('internal/errors');
const { wellFormed, latin1: latin1Text, isUtf8 } = require('internal/text_coding');

const kMaxLength = 2 ** 32;
const INSPECT_MAX_BYTES = 50;
const customInspect = Symbol.for('nodejs.util.inspect.custom');

// What every Buffer is an instance of; `Buffer.prototype` is its prototype, so
// `instanceof Buffer` holds and typed-array methods make Buffers.
class FastBuffer extends Uint8Array {}

function Buffer(value, encodingOrOffset, length) {
  if (typeof value === 'number') {
    if (typeof encodingOrOffset === 'string') {
      throw errors.invalidArgType('string', 'of type string', value);
    }
    return Buffer.alloc(value);
  }
  return Buffer.from(value, encodingOrOffset, length);
}
Buffer.prototype = FastBuffer.prototype;
Object.defineProperty(FastBuffer.prototype, 'constructor', { value: Buffer, writable: true, configurable: true });
Object.setPrototypeOf(Buffer, Uint8Array);
Object.defineProperty(Buffer, Symbol.species, { get() { return FastBuffer; }, configurable: true });

const ENCODINGS = {
  utf8: 'utf8', 'utf-8': 'utf8',
  hex: 'hex',
  base64: 'base64', base64url: 'base64url',
  latin1: 'latin1', binary: 'latin1',
  ascii: 'ascii',
  ucs2: 'utf16le', 'ucs-2': 'utf16le', utf16le: 'utf16le', 'utf-16le': 'utf16le',
};

function encodingOf(encoding) {
  if (encoding === undefined || encoding === null || encoding === '') return 'utf8';
  const found = ENCODINGS[String(encoding).toLowerCase()];
  if (!found) throw errors.unknownEncoding(encoding);
  return found;
}

function wrap(bytes) {
  return new FastBuffer(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// The bytes `text` stands for in `encoding`, as a Uint8Array.
function encode(text, encoding) {
  switch (encoding) {
    case 'utf8': return natives.utf8Encode(wellFormed(text));
    case 'hex': return natives.hexDecode(text);
    case 'base64':
    case 'base64url': return natives.base64Decode(text);
    case 'utf16le': {
      const bytes = new Uint8Array(text.length * 2);
      for (let i = 0; i < text.length; i += 1) {
        const unit = text.charCodeAt(i);
        bytes[2 * i] = unit & 0xff;
        bytes[2 * i + 1] = unit >>> 8;
      }
      return bytes;
    }
    default: { // latin1, ascii: the low byte of each code unit
      const bytes = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i += 1) bytes[i] = text.charCodeAt(i) & 0xff;
      return bytes;
    }
  }
}

function decode(bytes, encoding) {
  switch (encoding) {
    case 'utf8': return natives.utf8Decode(bytes);
    case 'hex': return natives.hexEncode(bytes);
    case 'base64': return natives.base64Encode(bytes, false);
    case 'base64url': return natives.base64Encode(bytes, true);
    case 'latin1': return latin1Text(bytes);
    case 'ascii': {
      const masked = new Uint8Array(bytes.length);
      for (let i = 0; i < bytes.length; i += 1) masked[i] = bytes[i] & 0x7f;
      return latin1Text(masked);
    }
    default: {
      let text = '';
      for (let i = 0; i + 1 < bytes.length; i += 2) {
        text += String.fromCharCode(bytes[i] | (bytes[i + 1] << 8));
      }
      return text;
    }
  }
}

function checkSize(size, name = 'size') {
  if (typeof size !== 'number') throw errors.invalidArgType(name, 'of type number', size);
  if (!(size >= 0 && size <= kMaxLength)) throw errors.outOfRange(name, `>= 0 && <= ${kMaxLength}`, size);
}

Buffer.alloc = function alloc(size, fill, encoding) {
  checkSize(size);
  const buffer = new FastBuffer(size);
  if (fill !== undefined && fill !== 0 && size > 0) buffer.fill(fill, encoding);
  return buffer;
};
Buffer.allocUnsafe = function allocUnsafe(size) {
  checkSize(size);
  return new FastBuffer(size);
};
Buffer.allocUnsafeSlow = Buffer.allocUnsafe;

Buffer.from = function from(value, encodingOrOffset, length) {
  if (typeof value === 'string') return wrap(encode(value, encodingOf(encodingOrOffset)));
  if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)) {
    const offset = encodingOrOffset === undefined ? 0 : Number(encodingOrOffset) || 0;
    if (offset > value.byteLength) throw errors.coded(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS', '"offset" is outside of buffer bounds');
    const size = length === undefined ? value.byteLength - offset : Number(length) || 0;
    if (offset + size > value.byteLength) throw errors.coded(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS', '"length" is outside of buffer bounds');
    return new FastBuffer(value, offset, size);
  }
  if (ArrayBuffer.isView(value)) {
    const copy = new FastBuffer(value.length === undefined ? value.byteLength : value.length);
    if (value instanceof DataView) copy.set(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    else copy.set(value);
    return copy;
  }
  if (value !== null && typeof value === 'object') {
    const primitive = typeof value[Symbol.toPrimitive] === 'function'
      ? value[Symbol.toPrimitive]('string')
      : typeof value.valueOf === 'function' ? value.valueOf() : value;
    if (primitive !== value && primitive !== null && primitive !== undefined) {
      return Buffer.from(primitive, encodingOrOffset, length);
    }
    if (value.type === 'Buffer' && Array.isArray(value.data)) return fromArrayLike(value.data);
    if (typeof value.length === 'number' || Array.isArray(value)) return fromArrayLike(value);
  }
  throw errors.invalidArgType('first argument',
    'of type string or an instance of Buffer, ArrayBuffer, or Array or an Array-like Object', value);
};

function fromArrayLike(items) {
  const length = items.length > 0 ? items.length >>> 0 : 0;
  const buffer = new FastBuffer(length);
  for (let i = 0; i < length; i += 1) buffer[i] = items[i] & 0xff;
  return buffer;
}

Buffer.of = function of(...items) { return fromArrayLike(items); };
Buffer.copyBytesFrom = function copyBytesFrom(view, offset = 0, length) {
  const size = view.BYTES_PER_ELEMENT;
  const end = length === undefined ? view.length : Math.min(view.length, offset + length);
  const bytes = new Uint8Array(view.buffer, view.byteOffset + offset * size, Math.max(0, end - offset) * size);
  return Buffer.from(bytes);
};
Buffer.isBuffer = function isBuffer(value) { return value instanceof Buffer; };
Buffer.isEncoding = function isEncoding(encoding) {
  return typeof encoding === 'string' && encoding.length !== 0 && ENCODINGS[encoding.toLowerCase()] !== undefined;
};
Buffer.poolSize = 8192;

function utf8Length(text) {
  let length = 0;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) length += 1;
    else if (unit < 0x800) length += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length
             && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 4;
      i += 1;
    } else length += 3;
  }
  return length;
}

Buffer.byteLength = function byteLength(value, encoding) {
  if (typeof value !== 'string') {
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer
        || (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)) {
      return value.byteLength;
    }
    throw errors.invalidArgType('string', 'of type string or an instance of Buffer or ArrayBuffer', value);
  }
  switch (encodingOf(encoding)) {
    case 'utf8': return utf8Length(value);
    case 'hex': return value.length >>> 1;
    case 'base64':
    case 'base64url': {
      let length = value.length;
      if (length > 0 && value.charCodeAt(length - 1) === 0x3d) length -= 1;
      if (length > 1 && value.charCodeAt(length - 1) === 0x3d) length -= 1;
      return (length * 3) >>> 2;
    }
    case 'utf16le': return value.length * 2;
    default: return value.length;
  }
};

function compareBytes(a, b) {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function needsBytes(name, value) {
  if (!(value instanceof Uint8Array)) {
    throw errors.invalidArgType(name, 'an instance of Buffer or Uint8Array', value);
  }
}

Buffer.compare = function compare(a, b) {
  needsBytes('buf1', a);
  needsBytes('buf2', b);
  return compareBytes(a, b);
};

Buffer.concat = function concat(list, totalLength) {
  if (!Array.isArray(list)) throw errors.invalidArgType('list', 'an instance of Array', list);
  if (list.length === 0) return new FastBuffer(0);
  let length = 0;
  for (let i = 0; i < list.length; i += 1) {
    needsBytes(`list[${i}]`, list[i]);
    length += list[i].length;
  }
  if (totalLength !== undefined) length = Number(totalLength);
  const out = new FastBuffer(length);
  let at = 0;
  for (const item of list) {
    if (at >= length) break;
    const part = item.length > length - at ? item.subarray(0, length - at) : item;
    out.set(part, at);
    at += part.length;
  }
  return out;
};

const proto = Buffer.prototype;

function clampIndex(value, length, fallback) {
  if (value === undefined) return fallback;
  let n = Math.trunc(Number(value)) || 0;
  if (n < 0) n = 0;
  return n > length ? length : n;
}

proto.toString = function toString(encoding, start, end) {
  if (arguments.length === 0) return natives.utf8Decode(this);
  const from = clampIndex(start, this.length, 0);
  const to = clampIndex(end, this.length, this.length);
  if (to <= from) return '';
  const bytes = from === 0 && to === this.length ? this : this.subarray(from, to);
  return decode(bytes, encodingOf(encoding));
};
proto.toLocaleString = proto.toString;
proto.toJSON = function toJSON() {
  return { type: 'Buffer', data: Array.from(this) };
};
proto.equals = function equals(other) {
  needsBytes('otherBuffer', other);
  return this === other || compareBytes(this, other) === 0;
};
proto.compare = function compare(target, targetStart = 0, targetEnd = target.length, sourceStart = 0, sourceEnd = this.length) {
  needsBytes('target', target);
  return compareBytes(this.subarray(sourceStart, sourceEnd), target.subarray(targetStart, targetEnd));
};
proto.copy = function copy(target, targetStart = 0, sourceStart = 0, sourceEnd = this.length) {
  needsBytes('target', target);
  targetStart = clampIndex(targetStart, target.length, 0);
  sourceStart = clampIndex(sourceStart, this.length, 0);
  sourceEnd = clampIndex(sourceEnd, this.length, this.length);
  const count = Math.min(sourceEnd - sourceStart, target.length - targetStart);
  if (count <= 0) return 0;
  target.set(this.subarray(sourceStart, sourceStart + count), targetStart);
  return count;
};
// Node's slice shares memory, unlike Uint8Array's.
proto.slice = function slice(start, end) { return this.subarray(start, end); };
Object.defineProperty(proto, 'parent', { get() { return this.buffer; }, configurable: true });
Object.defineProperty(proto, 'offset', { get() { return this.byteOffset; }, configurable: true });

proto.write = function write(text, offset, length, encoding) {
  if (typeof text !== 'string') throw errors.invalidArgType('argument', 'of type string', text);
  if (typeof offset === 'string') {
    encoding = offset;
    offset = 0;
    length = this.length;
  } else if (typeof length === 'string') {
    encoding = length;
    length = this.length - (offset || 0);
  }
  offset = offset === undefined ? 0 : Number(offset) >>> 0;
  if (offset > this.length) throw errors.coded(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS', '"offset" is outside of buffer bounds');
  const room = this.length - offset;
  length = length === undefined ? room : Math.min(room, Number(length) >>> 0);
  const kind = encodingOf(encoding);
  let bytes = encode(text, kind);
  if (bytes.length > length) {
    let cut = length;
    // UTF-8 is written in whole characters, as Node does.
    if (kind === 'utf8') while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut -= 1;
    if (kind === 'utf16le') cut -= cut % 2;
    bytes = bytes.subarray(0, cut);
  }
  this.set(bytes, offset);
  return bytes.length;
};

proto.fill = function fill(value, offset, end, encoding) {
  if (typeof offset === 'string') {
    encoding = offset;
    offset = 0;
    end = this.length;
  } else if (typeof end === 'string') {
    encoding = end;
    end = this.length;
  }
  const from = offset === undefined ? 0 : Number(offset);
  const to = end === undefined ? this.length : Number(end);
  if (from < 0 || to > this.length) throw errors.outOfRange('offset', `>= 0 && <= ${this.length}`, from < 0 ? from : to);
  if (to <= from) return this;
  let pattern;
  if (typeof value === 'number') return Uint8Array.prototype.fill.call(this, value & 0xff, from, to);
  if (typeof value === 'boolean') return Uint8Array.prototype.fill.call(this, Number(value), from, to);
  if (typeof value === 'string') {
    if (value.length === 0) return Uint8Array.prototype.fill.call(this, 0, from, to);
    pattern = encode(value, encodingOf(encoding));
    if (pattern.length === 0) throw errors.invalidArgValue('value', value);
  } else if (value instanceof Uint8Array) {
    pattern = value;
  } else {
    return Uint8Array.prototype.fill.call(this, Number(value) & 0xff, from, to);
  }
  for (let at = from; at < to; at += pattern.length) {
    this.set(pattern.subarray(0, Math.min(pattern.length, to - at)), at);
  }
  return this;
};

function search(buffer, value, byteOffset, encoding, last) {
  if (typeof byteOffset === 'string') {
    encoding = byteOffset;
    byteOffset = undefined;
  }
  let needle;
  if (typeof value === 'number') needle = [value & 0xff];
  else if (typeof value === 'string') needle = encode(value, encodingOf(encoding));
  else if (value instanceof Uint8Array) needle = value;
  else throw errors.invalidArgType('value', 'one of type number or string or an instance of Buffer or Uint8Array', value);
  const length = buffer.length;
  let start = byteOffset === undefined ? (last ? length : 0) : Math.trunc(Number(byteOffset)) || 0;
  if (start < 0) start += length;
  if (needle.length === 0) return Math.max(0, Math.min(start, length));
  const matches = (at) => {
    for (let k = 0; k < needle.length; k += 1) if (buffer[at + k] !== needle[k]) return false;
    return true;
  };
  if (last) {
    for (let at = Math.min(start, length - needle.length); at >= 0; at -= 1) if (matches(at)) return at;
  } else {
    for (let at = Math.max(start, 0); at <= length - needle.length; at += 1) if (matches(at)) return at;
  }
  return -1;
}
proto.indexOf = function indexOf(value, byteOffset, encoding) { return search(this, value, byteOffset, encoding, false); };
proto.lastIndexOf = function lastIndexOf(value, byteOffset, encoding) { return search(this, value, byteOffset, encoding, true); };
proto.includes = function includes(value, byteOffset, encoding) { return this.indexOf(value, byteOffset, encoding) !== -1; };

// --- Numbers: through a DataView over the buffer's bytes, with Node's bounds checks.
function view(buffer) {
  return new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
function checkOffset(buffer, offset, size) {
  if (typeof offset !== 'number') throw errors.invalidArgType('offset', 'of type number', offset);
  if (!Number.isInteger(offset) || offset < 0 || offset + size > buffer.length) {
    if (buffer.length - size < 0) {
      throw errors.coded(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS', 'Attempt to access memory outside buffer bounds');
    }
    throw errors.outOfRange('offset', `>= 0 and <= ${buffer.length - size}`, offset);
  }
}
const NUMBERS = [
  // name, size, DataView getter/setter suffix, little-endian?
  ['UInt8', 1, 'Uint8', false], ['Int8', 1, 'Int8', false],
  ['UInt16LE', 2, 'Uint16', true], ['UInt16BE', 2, 'Uint16', false],
  ['Int16LE', 2, 'Int16', true], ['Int16BE', 2, 'Int16', false],
  ['UInt32LE', 4, 'Uint32', true], ['UInt32BE', 4, 'Uint32', false],
  ['Int32LE', 4, 'Int32', true], ['Int32BE', 4, 'Int32', false],
  ['FloatLE', 4, 'Float32', true], ['FloatBE', 4, 'Float32', false],
  ['DoubleLE', 8, 'Float64', true], ['DoubleBE', 8, 'Float64', false],
  ['BigUInt64LE', 8, 'BigUint64', true], ['BigUInt64BE', 8, 'BigUint64', false],
  ['BigInt64LE', 8, 'BigInt64', true], ['BigInt64BE', 8, 'BigInt64', false],
];
const LIMITS = {
  Uint8: [0, 0xff], Int8: [-0x80, 0x7f], Uint16: [0, 0xffff], Int16: [-0x8000, 0x7fff],
  Uint32: [0, 0xffffffff], Int32: [-0x80000000, 0x7fffffff],
};
for (const [name, size, kind, little] of NUMBERS) {
  const read = function (offset = 0) {
    checkOffset(this, offset, size);
    return view(this)[`get${kind}`](offset, little);
  };
  const write = function (value, offset = 0) {
    checkOffset(this, offset, size);
    const limits = LIMITS[kind];
    if (limits && (value < limits[0] || value > limits[1])) {
      throw errors.outOfRange('value', `>= ${limits[0]} and <= ${limits[1]}`, value);
    }
    view(this)[`set${kind}`](offset, kind.startsWith('Big') ? BigInt(value) : Number(value), little);
    return offset + size;
  };
  proto[`read${name}`] = read;
  proto[`write${name}`] = write;
  if (name.includes('UInt')) {
    proto[`read${name.replace('UInt', 'Uint')}`] = read;
    proto[`write${name.replace('UInt', 'Uint')}`] = write;
  }
}
function checkByteLength(byteLength) {
  if (!Number.isInteger(byteLength) || byteLength < 1 || byteLength > 6) {
    throw errors.outOfRange('byteLength', '>= 1 and <= 6', byteLength);
  }
}
function readUnsigned(buffer, offset, byteLength, little) {
  checkByteLength(byteLength);
  checkOffset(buffer, offset, byteLength);
  let value = 0;
  for (let i = 0; i < byteLength; i += 1) {
    const byte = buffer[offset + (little ? byteLength - 1 - i : i)];
    value = value * 256 + byte;
  }
  return value;
}
function writeUnsigned(buffer, value, offset, byteLength, little) {
  checkByteLength(byteLength);
  checkOffset(buffer, offset, byteLength);
  let rest = value;
  for (let i = 0; i < byteLength; i += 1) {
    const byte = ((rest % 256) + 256) % 256;
    buffer[offset + (little ? i : byteLength - 1 - i)] = byte;
    rest = Math.floor(rest / 256);
  }
  return offset + byteLength;
}
const signed = (value, byteLength) => {
  const limit = 2 ** (8 * byteLength - 1);
  return value >= limit ? value - 2 * limit : value;
};
proto.readUIntLE = function (offset, byteLength) { return readUnsigned(this, offset, byteLength, true); };
proto.readUIntBE = function (offset, byteLength) { return readUnsigned(this, offset, byteLength, false); };
proto.readIntLE = function (offset, byteLength) { return signed(readUnsigned(this, offset, byteLength, true), byteLength); };
proto.readIntBE = function (offset, byteLength) { return signed(readUnsigned(this, offset, byteLength, false), byteLength); };
proto.writeUIntLE = function (value, offset, byteLength) { return writeUnsigned(this, value, offset, byteLength, true); };
proto.writeUIntBE = function (value, offset, byteLength) { return writeUnsigned(this, value, offset, byteLength, false); };
proto.writeIntLE = function (value, offset, byteLength) { return writeUnsigned(this, value, offset, byteLength, true); };
proto.writeIntBE = function (value, offset, byteLength) { return writeUnsigned(this, value, offset, byteLength, false); };
proto.readUintLE = proto.readUIntLE;
proto.readUintBE = proto.readUIntBE;
proto.writeUintLE = proto.writeUIntLE;
proto.writeUintBE = proto.writeUIntBE;

function swap(buffer, size) {
  if (buffer.length % size !== 0) {
    throw errors.coded(RangeError, 'ERR_INVALID_BUFFER_SIZE', `Buffer size must be a multiple of ${size * 8}-bits`);
  }
  for (let at = 0; at < buffer.length; at += size) {
    for (let i = 0; i < size / 2; i += 1) {
      const byte = buffer[at + i];
      buffer[at + i] = buffer[at + size - 1 - i];
      buffer[at + size - 1 - i] = byte;
    }
  }
  return buffer;
}
proto.swap16 = function swap16() { return swap(this, 2); };
proto.swap32 = function swap32() { return swap(this, 4); };
proto.swap64 = function swap64() { return swap(this, 8); };

// The `<encoding>Slice` / `<encoding>Write` helpers some packages call directly.
for (const encoding of ['utf8', 'hex', 'base64', 'base64url', 'latin1', 'ascii', 'ucs2']) {
  const kind = encodingOf(encoding);
  proto[`${encoding}Slice`] = function (start = 0, end = this.length) {
    return decode(this.subarray(start, end), kind);
  };
  proto[`${encoding}Write`] = function (text, offset = 0, length = this.length - offset) {
    return this.write(text, offset, length, kind);
  };
}

proto[customInspect] = function inspect() {
  const shown = Array.from(this.subarray(0, INSPECT_MAX_BYTES), (byte) => byte.toString(16).padStart(2, '0'));
  const more = this.length > INSPECT_MAX_BYTES ? ` ... ${this.length - INSPECT_MAX_BYTES} more bytes` : '';
  return `<Buffer${shown.length ? ' ' : ''}${shown.join(' ')}${more}>`;
};
proto.inspect = proto[customInspect];

function SlowBuffer(size) { return Buffer.allocUnsafeSlow(size); }
SlowBuffer.prototype = Buffer.prototype;

function transcode(source, from, to) {
  needsBytes('source', source);
  return Buffer.from(decode(source, encodingOf(from)), encodingOf(to));
}

function isAscii(input) {
  const bytes = ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input);
  return bytes.every((byte) => byte < 0x80);
}

module.exports = {
  Buffer,
  SlowBuffer,
  kMaxLength,
  kStringMaxLength: 2 ** 29 - 24,
  constants: { MAX_LENGTH: kMaxLength, MAX_STRING_LENGTH: 2 ** 29 - 24 },
  INSPECT_MAX_BYTES,
  transcode,
  isUtf8: (input) => isUtf8(ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input)),
  isAscii,
  atob: globalThis.atob,
  btoa: globalThis.btoa,
  get Blob() { return require('internal/blob').Blob; },
  get File() { return require('internal/blob').File; },
};
