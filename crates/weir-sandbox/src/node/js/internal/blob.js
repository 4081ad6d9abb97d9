// Blob and File: bytes with a type, in memory.
'use strict';

function bytesOfPart(part) {
  if (part instanceof Blob) return part._bytes;
  if (part instanceof ArrayBuffer) return new Uint8Array(part);
  if (ArrayBuffer.isView(part)) return new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
  return Buffer.from(String(part));
}

class Blob {
  constructor(parts = [], options = {}) {
    const bytes = Array.from(parts, bytesOfPart);
    this._bytes = Buffer.concat(bytes.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
    this._type = options && options.type ? String(options.type).toLowerCase() : '';
  }
  get size() { return this._bytes.length; }
  get type() { return this._type; }
  async arrayBuffer() {
    const copy = Buffer.from(this._bytes);
    return copy.buffer.slice(copy.byteOffset, copy.byteOffset + copy.byteLength);
  }
  async bytes() { return new Uint8Array(Buffer.from(this._bytes)); }
  async text() { return this._bytes.toString('utf8'); }
  slice(start = 0, end = this.size, type = '') {
    const part = new Blob([], { type });
    part._bytes = Buffer.from(this._bytes.subarray(start, end));
    return part;
  }
  stream() {
    const { ReadableStream } = require('internal/web_streams');
    const bytes = new Uint8Array(Buffer.from(this._bytes));
    return new ReadableStream({
      start(controller) {
        if (bytes.length) controller.enqueue(bytes);
        controller.close();
      },
    });
  }
  get [Symbol.toStringTag]() { return 'Blob'; }
}

class File extends Blob {
  constructor(parts, name, options = {}) {
    super(parts, options);
    this.name = String(name);
    this.lastModified = options && options.lastModified !== undefined ? Number(options.lastModified) : Date.now();
  }
  get [Symbol.toStringTag]() { return 'File'; }
}

module.exports = { Blob, File };
