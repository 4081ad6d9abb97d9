// `stream`: Readable, Writable, Duplex, Transform, PassThrough, pipeline and finished,
// enough for HTTP clients (axios, request, needle), form-data and jws. Constructors are
// functions, so that old packages' `Readable.call(this)` after `util.inherits` works as
// well as `class … extends Readable`. Events are emitted on the next tick, as in Node.
// Back-pressure is honoured on the writable side (`write()` returns false, `drain`).
'use strict';
const EventEmitter = require('events');
const errors = require('internal/errors');

const nextTick = (fn, ...args) => process.nextTick(fn, ...args);
const DEFAULT_HWM = 16 * 1024;
const DEFAULT_OBJECT_HWM = 16;
let defaultHighWaterMark = DEFAULT_HWM;

function inherit(Child, Parent) {
  Object.setPrototypeOf(Child.prototype, Parent.prototype);
  Object.setPrototypeOf(Child, Parent);
}

// --- The legacy base: an EventEmitter with the old `pipe`.
function Stream(options) {
  EventEmitter.call(this, options);
}
inherit(Stream, EventEmitter);

Stream.prototype.pipe = function pipe(dest, options) {
  const source = this;
  const onData = (chunk) => {
    if (dest.writable !== false && dest.write(chunk) === false && typeof source.pause === 'function') source.pause();
  };
  const onDrain = () => {
    if (source.readable !== false && typeof source.resume === 'function') source.resume();
  };
  source.on('data', onData);
  dest.on('drain', onDrain);
  if (!options || options.end !== false) {
    source.once('end', () => dest.end());
  }
  dest.emit('pipe', source);
  return dest;
};

function highWaterMark(options, objectMode, key) {
  const given = options && (options[key] !== undefined ? options[key] : options.highWaterMark);
  if (given !== undefined && given !== null) {
    if (!(given >= 0)) throw errors.invalidArgValue(`options.${key}`, given);
    return Math.floor(given);
  }
  return objectMode ? DEFAULT_OBJECT_HWM : defaultHighWaterMark;
}

function chunkLength(chunk, objectMode) {
  if (objectMode) return 1;
  return typeof chunk === 'string' ? chunk.length : chunk.length;
}

// --- Destroying: one path for both sides.
function destroy(error, callback) {
  const readable = this._readableState;
  const writable = this._writableState;
  if ((readable && readable.destroyed) || (writable && writable.destroyed)) {
    if (typeof callback === 'function') callback(error);
    return this;
  }
  if (readable) {
    readable.destroyed = true;
    if (error && !readable.errored) readable.errored = error;
  }
  if (writable) {
    writable.destroyed = true;
    if (error && !writable.errored) writable.errored = error;
  }
  this._destroy(error || null, (err) => {
    nextTick(() => {
      if (err) {
        if (readable) readable.errorEmitted = true;
        if (writable) writable.errorEmitted = true;
        this.emit('error', err);
      }
      if (readable) readable.closed = true;
      if (writable) writable.closed = true;
      const emitClose = (readable ? readable.emitClose : true) && (writable ? writable.emitClose : true);
      if (emitClose) this.emit('close');
    });
    if (typeof callback === 'function') callback(err);
  });
  return this;
}

function defaultDestroy(error, callback) {
  callback(error);
}

// --- Readable.
function ReadableState(options, stream, isDuplex) {
  this.objectMode = Boolean(options && (options.objectMode || (isDuplex && options.readableObjectMode)));
  this.highWaterMark = highWaterMark(options, this.objectMode, 'readableHighWaterMark');
  this.buffer = [];
  this.length = 0;
  this.flowing = null;
  this.ended = false;
  this.endEmitted = false;
  this.reading = false;
  this.sync = true;
  this.flowScheduled = false;
  this.destroyed = false;
  this.closed = false;
  this.errored = null;
  this.errorEmitted = false;
  this.emitClose = !options || options.emitClose !== false;
  this.autoDestroy = !options || options.autoDestroy !== false;
  this.decoder = null;
  this.encoding = null;
  this.didRead = false;
  this.readableListening = false;
  this.pipes = [];
  if (options && options.encoding) this.setEncoding(options.encoding);
}
ReadableState.prototype.setEncoding = function setEncoding(encoding) {
  const { StringDecoder } = require('string_decoder');
  this.decoder = new StringDecoder(encoding);
  this.encoding = this.decoder.encoding;
};

function Readable(options) {
  if (!(this instanceof Readable)) return new Readable(options);
  const isDuplex = this instanceof Duplex;
  this._readableState = new ReadableState(options, this, isDuplex);
  if (options) {
    if (typeof options.read === 'function') this._read = options.read;
    if (typeof options.destroy === 'function') this._destroy = options.destroy;
    if (options.signal) addAbortSignal(options.signal, this);
  }
  Stream.call(this, options);
}
inherit(Readable, Stream);

Readable.prototype.destroy = destroy;
Readable.prototype._destroy = defaultDestroy;
Readable.prototype._undestroy = function () {};

Readable.prototype._read = function _read() {
  throw errors.coded(Error, 'ERR_METHOD_NOT_IMPLEMENTED', 'The _read() method is not implemented');
};

function addChunk(stream, state, chunk, front) {
  if (state.decoder && !state.objectMode && typeof chunk !== 'string') chunk = state.decoder.write(chunk);
  if (!state.objectMode && chunk.length === 0) return;
  if (front) state.buffer.unshift(chunk);
  else state.buffer.push(chunk);
  state.length += chunkLength(chunk, state.objectMode);
  if (state.readableListening) emitReadable(stream);
  scheduleFlow(stream);
}

function toChunk(state, chunk, encoding) {
  if (state.objectMode || chunk === null || chunk === undefined) return chunk;
  if (typeof chunk === 'string') {
    if (state.decoder && (!encoding || encoding === state.encoding)) return chunk;
    return Buffer.from(chunk, encoding);
  }
  if (chunk instanceof Uint8Array) return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw errors.invalidArgType('chunk', 'of type string or an instance of Buffer or Uint8Array', chunk);
}

Readable.prototype.push = function push(chunk, encoding) {
  const state = this._readableState;
  state.reading = false;
  if (state.destroyed) return false;
  if (chunk === null) {
    if (!state.ended) {
      state.ended = true;
      if (state.decoder) {
        const rest = state.decoder.end();
        if (rest) {
          state.buffer.push(rest);
          state.length += rest.length;
        }
      }
      if (state.readableListening) emitReadable(this);
      scheduleFlow(this);
    }
    return false;
  }
  if (state.ended) {
    const error = errors.coded(Error, 'ERR_STREAM_PUSH_AFTER_EOF', 'stream.push() after EOF');
    this.destroy(error);
    return false;
  }
  addChunk(this, state, toChunk(state, chunk, encoding), false);
  return state.length < state.highWaterMark;
};

Readable.prototype.unshift = function unshift(chunk, encoding) {
  const state = this._readableState;
  if (chunk === null) return false;
  addChunk(this, state, toChunk(state, chunk, encoding), true);
  return state.length < state.highWaterMark;
};

function takeAll(state) {
  if (state.buffer.length === 0) return null;
  let out;
  if (state.objectMode) out = state.buffer.shift();
  else if (state.buffer.length === 1) out = state.buffer.shift();
  else if (typeof state.buffer[0] === 'string') out = state.buffer.splice(0).join('');
  else out = Buffer.concat(state.buffer.splice(0));
  state.length -= chunkLength(out, state.objectMode);
  return out;
}

function takeSome(state, n) {
  if (state.objectMode || n >= state.length) return takeAll(state);
  const first = state.buffer[0];
  if (n < first.length) {
    state.buffer[0] = first.slice(n);
    state.length -= n;
    return first.slice(0, n);
  }
  const parts = [];
  let left = n;
  while (left > 0) {
    const head = state.buffer[0];
    if (head.length <= left) {
      parts.push(state.buffer.shift());
      left -= head.length;
    } else {
      parts.push(head.slice(0, left));
      state.buffer[0] = head.slice(left);
      left = 0;
    }
  }
  state.length -= n;
  return typeof first === 'string' ? parts.join('') : Buffer.concat(parts);
}

function callRead(stream, state) {
  if (state.reading || state.ended || state.destroyed) return;
  state.reading = true;
  state.sync = true;
  try {
    stream._read(state.highWaterMark);
  } catch (error) {
    stream.destroy(error);
  }
  state.sync = false;
}

Readable.prototype.read = function read(n) {
  const state = this._readableState;
  state.didRead = true;
  if (n === 0) {
    if (state.length < state.highWaterMark) callRead(this, state);
    return null;
  }
  let chunk = null;
  if (state.length > 0 && (n === undefined || n === null || n <= state.length || state.ended)) {
    chunk = n === undefined || n === null ? takeAll(state) : takeSome(state, n);
  }
  if (state.length < state.highWaterMark) callRead(this, state);
  if (chunk !== null) this.emit('data', chunk);
  if (state.ended && state.length === 0) endSoon(this);
  return chunk;
};

function emitReadable(stream) {
  const state = stream._readableState;
  if (state.readableScheduled) return;
  state.readableScheduled = true;
  nextTick(() => {
    state.readableScheduled = false;
    if (!state.destroyed && (state.length > 0 || state.ended)) stream.emit('readable');
    if (state.ended && state.length === 0) endSoon(stream);
  });
}

function scheduleFlow(stream) {
  const state = stream._readableState;
  if (state.flowScheduled) return;
  state.flowScheduled = true;
  nextTick(() => {
    state.flowScheduled = false;
    flow(stream);
  });
}

function flow(stream) {
  const state = stream._readableState;
  if (state.destroyed) return;
  while (state.flowing && state.buffer.length > 0) {
    const chunk = state.buffer.shift();
    state.length -= chunkLength(chunk, state.objectMode);
    stream.emit('data', chunk);
  }
  if (state.ended && state.length === 0) {
    if (state.flowing || state.readableListening) endSoon(stream);
  } else if (state.flowing && state.length < state.highWaterMark) {
    callRead(stream, state);
    if (state.buffer.length > 0 && !state.reading) scheduleFlow(stream);
  }
}

function endSoon(stream) {
  const state = stream._readableState;
  if (state.endEmitted || state.endScheduled) return;
  state.endScheduled = true;
  nextTick(() => {
    if (state.endEmitted || state.destroyed || state.length > 0) {
      state.endScheduled = false;
      return;
    }
    state.endEmitted = true;
    stream.readable = false;
    stream.emit('end');
    const writable = stream._writableState;
    if (writable && !stream.allowHalfOpen && !writable.ending && !writable.destroyed) {
      stream.end();
    }
    const writableDone = !writable || writable.finished || writable.destroyed || !writable.autoDestroy;
    if (state.autoDestroy && writableDone) stream.destroy();
  });
}

Readable.prototype.on = function on(name, listener) {
  const result = Stream.prototype.on.call(this, name, listener);
  const state = this._readableState;
  if (name === 'data') {
    if (state.flowing !== false) this.resume();
  } else if (name === 'readable') {
    if (!state.endEmitted) {
      state.readableListening = true;
      state.flowing = false;
      if (state.length > 0 || state.ended) emitReadable(this);
      else if (!state.reading) nextTick(() => callRead(this, state));
    }
  }
  return result;
};
Readable.prototype.addListener = Readable.prototype.on;

Readable.prototype.removeListener = function removeListener(name, listener) {
  const result = Stream.prototype.removeListener.call(this, name, listener);
  if (name === 'readable' && this.listenerCount('readable') === 0) {
    this._readableState.readableListening = false;
  }
  return result;
};
Readable.prototype.off = Readable.prototype.removeListener;

Readable.prototype.resume = function resume() {
  const state = this._readableState;
  if (!state.flowing) {
    state.flowing = !state.readableListening;
    nextTick(() => this.emit('resume'));
    scheduleFlow(this);
    if (!state.reading && state.length === 0) nextTick(() => callRead(this, state));
  }
  return this;
};

Readable.prototype.pause = function pause() {
  const state = this._readableState;
  if (state.flowing !== false) {
    state.flowing = false;
    this.emit('pause');
  }
  return this;
};

Readable.prototype.isPaused = function isPaused() {
  return this._readableState.flowing === false;
};

Readable.prototype.setEncoding = function setEncoding(encoding) {
  const state = this._readableState;
  state.setEncoding(encoding);
  const buffered = state.buffer.splice(0);
  state.length = 0;
  for (const chunk of buffered) {
    const text = typeof chunk === 'string' ? chunk : state.decoder.write(chunk);
    if (text) {
      state.buffer.push(text);
      state.length += text.length;
    }
  }
  return this;
};

Readable.prototype.pipe = function pipe(dest, options) {
  const source = this;
  const state = this._readableState;
  state.pipes.push(dest);
  const onData = (chunk) => {
    if (dest.write(chunk) === false) source.pause();
  };
  const onDrain = () => {
    if (!state.readableListening) source.resume();
  };
  const onEnd = () => dest.end();
  const cleanup = () => {
    source.removeListener('data', onData);
    dest.removeListener('drain', onDrain);
    source.removeListener('end', onEnd);
  };
  dest.on('drain', onDrain);
  if (!options || options.end !== false) source.once('end', onEnd);
  dest.once('close', cleanup);
  dest.once('finish', cleanup);
  dest._weirUnpipe = cleanup;
  dest.emit('pipe', source);
  source.on('data', onData);
  if (!state.flowing) source.resume();
  return dest;
};

Readable.prototype.unpipe = function unpipe(dest) {
  const state = this._readableState;
  const targets = dest ? [dest] : state.pipes.slice();
  for (const target of targets) {
    const at = state.pipes.indexOf(target);
    if (at === -1) continue;
    state.pipes.splice(at, 1);
    if (typeof target._weirUnpipe === 'function') target._weirUnpipe();
    target.emit('unpipe', this);
  }
  if (state.pipes.length === 0) this.pause();
  return this;
};

Readable.prototype.wrap = function wrap(old) {
  old.on('data', (chunk) => {
    if (!this.push(chunk) && typeof old.pause === 'function') old.pause();
  });
  old.on('end', () => this.push(null));
  old.on('error', (error) => this.destroy(error));
  this._read = () => {
    if (typeof old.resume === 'function') old.resume();
  };
  return this;
};

Readable.prototype[Symbol.asyncIterator] = function asyncIterator() {
  const stream = this;
  const queue = [];
  let done = false;
  let failure = null;
  let wake = null;
  const poke = () => {
    if (wake) {
      const resolve = wake;
      wake = null;
      resolve();
    }
  };
  stream.on('data', (chunk) => {
    queue.push(chunk);
    poke();
  });
  stream.on('end', () => {
    done = true;
    poke();
  });
  stream.on('error', (error) => {
    failure = error;
    poke();
  });
  stream.on('close', () => {
    if (!done && !failure && !stream._readableState.endEmitted) {
      failure = errors.coded(Error, 'ERR_STREAM_PREMATURE_CLOSE', 'Premature close');
    }
    done = true;
    poke();
  });
  return {
    async next() {
      for (;;) {
        if (queue.length) return { value: queue.shift(), done: false };
        if (failure) {
          const error = failure;
          failure = null;
          done = true;
          throw error;
        }
        if (done) return { value: undefined, done: true };
        await new Promise((resolve) => { wake = resolve; });
      }
    },
    async return() {
      done = true;
      if (!stream._readableState.endEmitted) stream.destroy();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() { return this; },
  };
};

Readable.prototype.iterator = function iterator() { return this[Symbol.asyncIterator](); };

Readable.prototype.toArray = async function toArray() {
  const items = [];
  for await (const item of this) items.push(item);
  return items;
};

const readableGetters = {
  readable: {
    get() {
      const state = this._readableState;
      return this._weirReadable !== undefined ? this._weirReadable
        : !state.destroyed && !state.endEmitted && !state.errored;
    },
    set(value) { this._weirReadable = value; },
  },
  readableEnded: { get() { return this._readableState.endEmitted; } },
  readableFlowing: {
    get() { return this._readableState.flowing; },
    set(value) { this._readableState.flowing = value; },
  },
  readableLength: { get() { return this._readableState.length; } },
  readableHighWaterMark: { get() { return this._readableState.highWaterMark; } },
  readableObjectMode: { get() { return this._readableState.objectMode; } },
  readableEncoding: { get() { return this._readableState.encoding; } },
  readableAborted: { get() { return this._readableState.destroyed && !this._readableState.endEmitted; } },
  readableDidRead: { get() { return this._readableState.didRead; } },
  destroyed: {
    get() {
      const r = this._readableState;
      const w = this._writableState;
      return Boolean((r && r.destroyed) || (w && w.destroyed));
    },
    set(value) {
      if (this._readableState) this._readableState.destroyed = value;
      if (this._writableState) this._writableState.destroyed = value;
    },
  },
  closed: { get() { return Boolean(this._readableState && this._readableState.closed); } },
  errored: { get() { return this._readableState ? this._readableState.errored : null; } },
};
Object.defineProperties(Readable.prototype, readableGetters);

// Readable.from(iterable): each item a chunk (objects by default); a string or a
// Buffer is one chunk.
Readable.from = function from(iterable, options) {
  if (typeof iterable === 'string' || iterable instanceof Uint8Array) {
    return new Readable({
      objectMode: true,
      ...options,
      read() {
        this.push(iterable);
        this.push(null);
      },
    });
  }
  let iterator;
  if (iterable && typeof iterable[Symbol.asyncIterator] === 'function') iterator = iterable[Symbol.asyncIterator]();
  else if (iterable && typeof iterable[Symbol.iterator] === 'function') iterator = iterable[Symbol.iterator]();
  else throw errors.invalidArgType('iterable', 'an Iterable', iterable);
  let reading = false;
  return new Readable({
    objectMode: true,
    highWaterMark: 1,
    ...options,
    read() {
      if (reading) return;
      reading = true;
      (async () => {
        try {
          for (;;) {
            const { value, done } = await iterator.next();
            if (done) {
              this.push(null);
              break;
            }
            const item = await value;
            if (item === null) throw errors.coded(TypeError, 'ERR_STREAM_NULL_VALUES', 'May not write null values to stream');
            if (!this.push(item)) break;
          }
        } catch (error) {
          this.destroy(error);
        }
        reading = false;
      })();
    },
    destroy(error, callback) {
      if (typeof iterator.return === 'function') {
        Promise.resolve(iterator.return()).then(() => callback(error), callback);
      } else callback(error);
    },
  });
};

Readable.isDisturbed = (stream) => Boolean(stream._readableState && (stream._readableState.didRead || stream._readableState.flowing !== null));

// --- Writable.
function WritableState(options, stream, isDuplex) {
  this.objectMode = Boolean(options && (options.objectMode || (isDuplex && options.writableObjectMode)));
  this.highWaterMark = highWaterMark(options, this.objectMode, 'writableHighWaterMark');
  this.decodeStrings = !options || options.decodeStrings !== false;
  this.defaultEncoding = (options && options.defaultEncoding) || 'utf8';
  this.queue = [];
  this.length = 0;
  this.writing = false;
  this.corked = 0;
  this.ending = false;
  this.ended = false;
  this.finished = false;
  this.finalCalled = false;
  this.needDrain = false;
  this.destroyed = false;
  this.closed = false;
  this.errored = null;
  this.errorEmitted = false;
  this.emitClose = !options || options.emitClose !== false;
  this.autoDestroy = !options || options.autoDestroy !== false;
}

function Writable(options) {
  const isDuplex = this instanceof Duplex;
  if (!isDuplex && !(this instanceof Writable)) return new Writable(options);
  this._writableState = new WritableState(options, this, isDuplex);
  if (options) {
    if (typeof options.write === 'function') this._write = options.write;
    if (typeof options.writev === 'function') this._writev = options.writev;
    if (typeof options.final === 'function') this._final = options.final;
    if (typeof options.destroy === 'function') this._destroy = options.destroy;
    if (options.signal) addAbortSignal(options.signal, this);
  }
  Stream.call(this, options);
}
inherit(Writable, Stream);

Object.defineProperty(Writable, Symbol.hasInstance, {
  value(object) {
    if (Function.prototype[Symbol.hasInstance].call(this, object)) return true;
    if (this !== Writable) return false;
    return Boolean(object && object._writableState instanceof WritableState);
  },
});

Writable.prototype.destroy = destroy;
Writable.prototype._destroy = defaultDestroy;
Writable.prototype._write = function _write(chunk, encoding, callback) {
  if (typeof this._writev === 'function') this._writev([{ chunk, encoding }], callback);
  else throw errors.coded(Error, 'ERR_METHOD_NOT_IMPLEMENTED', 'The _write() method is not implemented');
};

function writeAfterEnd(stream, callback) {
  const error = errors.coded(Error, 'ERR_STREAM_WRITE_AFTER_END', 'write after end');
  nextTick(() => {
    if (typeof callback === 'function') callback(error);
    stream.destroy(error);
  });
}

Writable.prototype.write = function write(chunk, encoding, callback) {
  const state = this._writableState;
  if (typeof encoding === 'function') {
    callback = encoding;
    encoding = null;
  }
  if (!encoding) encoding = state.defaultEncoding;
  if (chunk === null) throw errors.coded(TypeError, 'ERR_STREAM_NULL_VALUES', 'May not write null values to stream');
  if (!state.objectMode) {
    if (typeof chunk === 'string') {
      if (state.decodeStrings) {
        chunk = Buffer.from(chunk, encoding);
        encoding = 'buffer';
      }
    } else if (chunk instanceof Uint8Array) {
      if (!Buffer.isBuffer(chunk)) chunk = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      encoding = 'buffer';
    } else {
      throw errors.invalidArgType('chunk', 'of type string or an instance of Buffer or Uint8Array', chunk);
    }
  }
  if (state.ending) {
    writeAfterEnd(this, callback);
    return false;
  }
  if (state.destroyed) {
    const error = errors.coded(Error, 'ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed');
    nextTick(() => { if (typeof callback === 'function') callback(error); });
    return false;
  }
  const length = chunkLength(chunk, state.objectMode);
  state.length += length;
  const ok = state.length < state.highWaterMark;
  if (!ok) state.needDrain = true;
  const entry = { chunk, encoding, callback: typeof callback === 'function' ? callback : () => {}, length };
  if (state.writing || state.corked) state.queue.push(entry);
  else doWrite(this, state, entry);
  return ok;
};

function doWrite(stream, state, entry) {
  state.writing = true;
  let sync = true;
  let called = false;
  const onWrite = (error) => {
    if (called) return;
    called = true;
    state.writing = false;
    state.length -= entry.length;
    if (error) {
      state.errored = state.errored || error;
      nextTick(() => entry.callback(error));
      stream.destroy(error);
      return;
    }
    const after = () => {
      entry.callback(null);
      afterWrite(stream, state);
    };
    if (sync) nextTick(after);
    else after();
  };
  try {
    stream._write(entry.chunk, entry.encoding, onWrite);
  } catch (error) {
    onWrite(error);
  }
  sync = false;
}

function afterWrite(stream, state) {
  if (state.destroyed) return;
  if (state.queue.length > 0 && !state.writing && !state.corked) {
    doWrite(stream, state, state.queue.shift());
    return;
  }
  if (state.needDrain && state.length === 0 && !state.writing) {
    state.needDrain = false;
    stream.emit('drain');
  }
  finishMaybe(stream, state);
}

function finishMaybe(stream, state) {
  if (!state.ending || state.finished || state.writing || state.queue.length > 0 || state.destroyed) return;
  if (state.finalCalled) return;
  state.finalCalled = true;
  const finish = (error) => {
    if (error) {
      stream.destroy(error);
      return;
    }
    nextTick(() => {
      if (state.destroyed || state.finished) return;
      state.finished = true;
      stream.emit('prefinish');
      stream.emit('finish');
      const readable = stream._readableState;
      const readableDone = !readable || readable.endEmitted || readable.destroyed || !readable.autoDestroy;
      if (state.autoDestroy && readableDone) stream.destroy();
    });
  };
  if (typeof stream._final === 'function') {
    nextTick(() => {
      try {
        stream._final(finish);
      } catch (error) {
        finish(error);
      }
    });
  } else {
    finish(null);
  }
}

Writable.prototype.end = function end(chunk, encoding, callback) {
  const state = this._writableState;
  if (typeof chunk === 'function') {
    callback = chunk;
    chunk = null;
    encoding = null;
  } else if (typeof encoding === 'function') {
    callback = encoding;
    encoding = null;
  }
  if (chunk !== null && chunk !== undefined) this.write(chunk, encoding);
  if (state.corked) {
    state.corked = 1;
    this.uncork();
  }
  if (typeof callback === 'function') {
    if (state.finished) nextTick(callback);
    else {
      const onFinish = () => {
        this.removeListener('error', onError);
        callback();
      };
      const onError = (error) => {
        this.removeListener('finish', onFinish);
        callback(error);
      };
      this.once('finish', onFinish);
      this.once('error', onError);
    }
  }
  if (!state.ending) {
    state.ending = true;
    state.ended = true;
    finishMaybe(this, state);
  }
  return this;
};

Writable.prototype.cork = function cork() {
  this._writableState.corked += 1;
};
Writable.prototype.uncork = function uncork() {
  const state = this._writableState;
  if (state.corked > 0) {
    state.corked -= 1;
    if (state.corked === 0 && !state.writing && state.queue.length > 0) doWrite(this, state, state.queue.shift());
  }
};
Writable.prototype.setDefaultEncoding = function setDefaultEncoding(encoding) {
  this._writableState.defaultEncoding = String(encoding).toLowerCase();
  return this;
};

const writableGetters = {
  writable: {
    get() {
      const state = this._writableState;
      return this._weirWritable !== undefined ? this._weirWritable
        : !state.destroyed && !state.ending && !state.errored;
    },
    set(value) { this._weirWritable = value; },
  },
  writableEnded: { get() { return this._writableState.ending; } },
  writableFinished: { get() { return this._writableState.finished; } },
  writableLength: { get() { return this._writableState.length; } },
  writableHighWaterMark: { get() { return this._writableState.highWaterMark; } },
  writableObjectMode: { get() { return this._writableState.objectMode; } },
  writableCorked: { get() { return this._writableState.corked; } },
  writableNeedDrain: { get() { return this._writableState.needDrain; } },
  writableAborted: { get() { return this._writableState.destroyed && !this._writableState.finished; } },
};
Object.defineProperties(Writable.prototype, {
  ...writableGetters,
  destroyed: {
    get() { return this._writableState.destroyed; },
    set(value) { this._writableState.destroyed = value; },
  },
  closed: { get() { return this._writableState.closed; } },
  errored: { get() { return this._writableState.errored; } },
});

// --- Duplex: a Readable with a Writable's side.
function Duplex(options) {
  if (!(this instanceof Duplex)) return new Duplex(options);
  Readable.call(this, options);
  this._writableState = new WritableState(options, this, true);
  if (options) {
    if (typeof options.write === 'function') this._write = options.write;
    if (typeof options.writev === 'function') this._writev = options.writev;
    if (typeof options.final === 'function') this._final = options.final;
    if (options.readable === false) this._readableState.ended = this._readableState.endEmitted = true;
    if (options.writable === false) this._writableState.ending = this._writableState.finished = true;
  }
  this.allowHalfOpen = !options || options.allowHalfOpen !== false;
}
inherit(Duplex, Readable);
for (const name of ['write', 'end', 'cork', 'uncork', 'setDefaultEncoding', '_write']) {
  Duplex.prototype[name] = Writable.prototype[name];
}
Object.defineProperties(Duplex.prototype, writableGetters);

Duplex.from = function from(source) {
  if (source instanceof Duplex) return source;
  if (source instanceof Readable) {
    const duplex = new Duplex({ read() { source.resume(); }, write(c, e, cb) { cb(); } });
    source.on('data', (chunk) => duplex.push(chunk));
    source.on('end', () => duplex.push(null));
    return duplex;
  }
  return Readable.from(source);
};

// --- Transform and PassThrough.
function Transform(options) {
  if (!(this instanceof Transform)) return new Transform(options);
  Duplex.call(this, options);
  this._readableState.sync = false;
  if (options) {
    if (typeof options.transform === 'function') this._transform = options.transform;
    if (typeof options.flush === 'function') this._flush = options.flush;
  }
}
inherit(Transform, Duplex);

Transform.prototype._transform = function _transform() {
  throw errors.coded(Error, 'ERR_METHOD_NOT_IMPLEMENTED', 'The _transform() method is not implemented');
};

Transform.prototype._write = function _write(chunk, encoding, callback) {
  this._transform(chunk, encoding, (error, data) => {
    if (error) {
      callback(error);
      return;
    }
    if (data !== null && data !== undefined) this.push(data);
    callback();
  });
};

Transform.prototype._read = function _read() {};

Transform.prototype._final = function _final(callback) {
  const done = (error, data) => {
    if (error) {
      callback(error);
      return;
    }
    if (data !== null && data !== undefined) this.push(data);
    this.push(null);
    callback();
  };
  if (typeof this._flush === 'function' && !this.destroyed) this._flush(done);
  else done();
};

function PassThrough(options) {
  if (!(this instanceof PassThrough)) return new PassThrough(options);
  Transform.call(this, options);
}
inherit(PassThrough, Transform);
PassThrough.prototype._transform = function _transform(chunk, encoding, callback) {
  callback(null, chunk);
};

// --- finished and pipeline.
function eos(stream, options, callback) {
  if (typeof options === 'function') {
    callback = options;
    options = {};
  }
  options = options || {};
  let called = false;
  const done = (error) => {
    if (called) return;
    called = true;
    cleanup();
    callback.call(stream, error);
  };
  const readable = options.readable !== false && Boolean(stream._readableState);
  const writable = options.writable !== false && Boolean(stream._writableState);
  let ended = !readable || (stream._readableState && stream._readableState.endEmitted);
  let finished = !writable || (stream._writableState && stream._writableState.finished);
  const onEnd = () => {
    ended = true;
    if (finished) done();
  };
  const onFinish = () => {
    finished = true;
    if (ended) done();
  };
  const onError = (error) => done(error);
  const onClose = () => {
    if ((readable && !ended) || (writable && !finished)) {
      done(errors.coded(Error, 'ERR_STREAM_PREMATURE_CLOSE', 'Premature close'));
    } else done();
  };
  const legacyEnd = () => done();
  function cleanup() {
    stream.removeListener('end', onEnd);
    stream.removeListener('finish', onFinish);
    stream.removeListener('error', onError);
    stream.removeListener('close', onClose);
    stream.removeListener('end', legacyEnd);
  }
  if (!stream._readableState && !stream._writableState) {
    // A legacy stream (or an http.ClientRequest-like object).
    stream.on('end', legacyEnd);
    stream.on('finish', legacyEnd);
  } else {
    stream.on('end', onEnd);
    stream.on('finish', onFinish);
  }
  if (options.error !== false) stream.on('error', onError);
  stream.on('close', onClose);
  if (ended && finished && (stream._readableState || stream._writableState)) nextTick(() => done());
  return cleanup;
}

function pipeline(...args) {
  let callback = typeof args[args.length - 1] === 'function' ? args.pop() : null;
  if (!callback) throw errors.invalidArgType('callback', 'of type function', undefined);
  let streams = args.length === 1 && Array.isArray(args[0]) ? args[0] : args;
  if (streams.length < 2) throw errors.coded(TypeError, 'ERR_MISSING_ARGS', 'The "streams" argument must be specified');
  streams = streams.map((stream, i) => {
    if (typeof stream === 'function') return Readable.from(stream(i === 0 ? undefined : streams[i - 1]));
    if (i === 0 && stream && typeof stream.pipe !== 'function'
        && (typeof stream[Symbol.asyncIterator] === 'function' || typeof stream[Symbol.iterator] === 'function')) {
      return Readable.from(stream);
    }
    return stream;
  });
  let failed = false;
  const finish = (error) => {
    if (failed) return;
    failed = true;
    if (error) {
      for (const stream of streams) {
        if (typeof stream.destroy === 'function' && !stream.destroyed) stream.destroy(error);
      }
    }
    const done = callback;
    callback = null;
    if (done) done(error || undefined);
  };
  streams.forEach((stream, i) => {
    const last = i === streams.length - 1;
    eos(stream, { readable: !last, writable: i > 0 }, (error) => {
      if (error) finish(error);
      else if (last) finish();
    });
    if (!last) stream.pipe(streams[i + 1]);
  });
  return streams[streams.length - 1];
}

function addAbortSignal(signal, stream) {
  const onAbort = () => {
    const error = new Error('The operation was aborted');
    error.name = 'AbortError';
    error.code = 'ABORT_ERR';
    error.cause = signal.reason;
    stream.destroy(error);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return stream;
}

const promises = {
  pipeline: (...streams) => new Promise((resolve, reject) => {
    const last = streams[streams.length - 1];
    if (last && typeof last === 'object' && !last.pipe && !last.write && 'signal' in last) streams.pop();
    pipeline(...streams, (error) => (error ? reject(error) : resolve()));
  }),
  finished: (stream, options) => new Promise((resolve, reject) => {
    eos(stream, options, (error) => (error ? reject(error) : resolve()));
  }),
};

Stream.Stream = Stream;
Stream.Readable = Readable;
Stream.Writable = Writable;
Stream.Duplex = Duplex;
Stream.Transform = Transform;
Stream.PassThrough = PassThrough;
Stream.pipeline = pipeline;
Stream.finished = eos;
Stream.promises = promises;
Stream.addAbortSignal = addAbortSignal;
Stream.isReadable = (stream) => Boolean(stream && stream._readableState && stream.readable);
Stream.isWritable = (stream) => Boolean(stream && stream._writableState && stream.writable);
Stream.isErrored = (stream) => Boolean(stream && stream.errored);
Stream.isDisturbed = Readable.isDisturbed;
Stream.getDefaultHighWaterMark = (objectMode) => (objectMode ? DEFAULT_OBJECT_HWM : defaultHighWaterMark);
Stream.setDefaultHighWaterMark = (objectMode, value) => {
  if (!objectMode) defaultHighWaterMark = value;
};
Stream._isUint8Array = (value) => value instanceof Uint8Array;
Stream._uint8ArrayToBuffer = (value) => Buffer.from(value.buffer, value.byteOffset, value.byteLength);

module.exports = Stream;
