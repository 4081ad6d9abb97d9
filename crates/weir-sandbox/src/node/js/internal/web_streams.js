// The WHATWG streams `fetch` bodies are (ReadableStream, with its default reader), and
// small WritableStream and TransformStream: queues in memory, pull on demand.
'use strict';

class ReadableStreamDefaultController {
  constructor(stream) {
    this._stream = stream;
  }
  get desiredSize() {
    const stream = this._stream;
    return stream._state === 'readable' ? stream._highWaterMark - stream._queue.length : 0;
  }
  enqueue(chunk) {
    const stream = this._stream;
    if (stream._state !== 'readable' || stream._closeRequested) throw new TypeError('Invalid state: the stream is not readable');
    if (stream._waiting.length) stream._waiting.shift().resolve({ value: chunk, done: false });
    else stream._queue.push(chunk);
  }
  close() {
    const stream = this._stream;
    if (stream._closeRequested || stream._state !== 'readable') throw new TypeError('Invalid state: the stream is not readable');
    stream._closeRequested = true;
    if (stream._queue.length === 0) stream._close();
  }
  error(reason) {
    this._stream._error(reason);
  }
}

class ReadableStream {
  constructor(source = {}, strategy = {}) {
    this._source = source || {};
    this._queue = [];
    this._waiting = [];
    this._state = 'readable';
    this._storedError = undefined;
    this._closeRequested = false;
    this._pulling = false;
    this._reader = null;
    this._highWaterMark = strategy && strategy.highWaterMark !== undefined ? strategy.highWaterMark : 1;
    this._controller = new ReadableStreamDefaultController(this);
    this._started = Promise.resolve(typeof this._source.start === 'function' ? this._source.start(this._controller) : undefined)
      .catch((error) => this._error(error));
  }
  static from(iterable) {
    const iterator = iterable[Symbol.asyncIterator] ? iterable[Symbol.asyncIterator]() : iterable[Symbol.iterator]();
    return new ReadableStream({
      async pull(controller) {
        const { value, done } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel(reason) {
        if (typeof iterator.return === 'function') await iterator.return(reason);
      },
    });
  }
  get locked() { return this._reader !== null; }
  _close() {
    this._state = 'closed';
    for (const waiter of this._waiting.splice(0)) waiter.resolve({ value: undefined, done: true });
    if (this._reader) this._reader._resolveClosed();
  }
  _error(reason) {
    if (this._state !== 'readable') return;
    this._state = 'errored';
    this._storedError = reason;
    this._queue = [];
    for (const waiter of this._waiting.splice(0)) waiter.reject(reason);
    if (this._reader) this._reader._rejectClosed(reason);
  }
  _read() {
    if (this._queue.length) {
      const value = this._queue.shift();
      if (this._closeRequested && this._queue.length === 0) this._close();
      return Promise.resolve({ value, done: false });
    }
    if (this._state === 'closed') return Promise.resolve({ value: undefined, done: true });
    if (this._state === 'errored') return Promise.reject(this._storedError);
    const next = new Promise((resolve, reject) => this._waiting.push({ resolve, reject }));
    this._pull();
    return next;
  }
  _pull() {
    if (this._pulling || typeof this._source.pull !== 'function' || this._state !== 'readable') return;
    this._pulling = true;
    this._started
      .then(() => this._source.pull(this._controller))
      .then(() => {
        this._pulling = false;
        if (this._waiting.length && this._state === 'readable') this._pull();
      }, (error) => this._error(error));
  }
  getReader(options = {}) {
    if (options && options.mode === 'byob') throw new TypeError('BYOB readers are not offered in the Weir sandbox');
    if (this._reader) throw new TypeError('Invalid state: ReadableStream is locked');
    this._reader = new ReadableStreamDefaultReader(this);
    return this._reader;
  }
  async cancel(reason) {
    if (this._state === 'closed') return;
    if (this._state === 'errored') throw this._storedError;
    this._queue = [];
    this._close();
    if (typeof this._source.cancel === 'function') await this._source.cancel(reason);
  }
  async pipeTo(destination, options = {}) {
    const reader = this.getReader();
    const writer = destination.getWriter();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        await writer.write(value);
      }
      if (!options.preventClose) await writer.close();
    } finally {
      reader.releaseLock();
      writer.releaseLock();
    }
  }
  pipeThrough(transform, options) {
    this.pipeTo(transform.writable, options).catch(() => {});
    return transform.readable;
  }
  tee() {
    const reader = this.getReader();
    const branches = [[], []];
    let reading = null;
    const make = (index) => new ReadableStream({
      pull: async (controller) => {
        if (branches[index].length) {
          const item = branches[index].shift();
          if (item.done) controller.close();
          else controller.enqueue(item.value);
          return;
        }
        reading = reading || reader.read().then((item) => {
          reading = null;
          branches[1 - index].push(item);
          return item;
        });
        const item = await reading;
        if (item.done) controller.close();
        else controller.enqueue(item.value);
      },
    });
    return [make(0), make(1)];
  }
  values(options = {}) {
    const reader = this.getReader();
    return {
      next: () => reader.read(),
      return: async (value) => {
        if (!(options && options.preventCancel)) await reader.cancel();
        reader.releaseLock();
        return { value, done: true };
      },
      [Symbol.asyncIterator]() { return this; },
    };
  }
  [Symbol.asyncIterator](options) { return this.values(options); }
  get [Symbol.toStringTag]() { return 'ReadableStream'; }
}

class ReadableStreamDefaultReader {
  constructor(stream) {
    this._stream = stream;
    this.closed = new Promise((resolve, reject) => {
      this._resolveClosed = resolve;
      this._rejectClosed = reject;
    });
    this.closed.catch(() => {});
    if (stream._state === 'closed') this._resolveClosed();
    if (stream._state === 'errored') this._rejectClosed(stream._storedError);
  }
  read() {
    if (!this._stream) return Promise.reject(new TypeError('Invalid state: the reader is released'));
    return this._stream._read();
  }
  releaseLock() {
    if (this._stream) this._stream._reader = null;
    this._stream = null;
  }
  cancel(reason) {
    return this._stream ? this._stream.cancel(reason) : Promise.resolve();
  }
}

class WritableStream {
  constructor(sink = {}) {
    this._sink = sink || {};
    this._writer = null;
    this._state = 'writable';
    this._chain = Promise.resolve(typeof this._sink.start === 'function' ? this._sink.start({ error: () => {} }) : undefined);
  }
  get locked() { return this._writer !== null; }
  getWriter() {
    if (this._writer) throw new TypeError('Invalid state: WritableStream is locked');
    const stream = this;
    this._writer = {
      get ready() { return Promise.resolve(); },
      get closed() { return stream._chain.then(() => undefined); },
      get desiredSize() { return 1; },
      write(chunk) {
        stream._chain = stream._chain.then(() => (typeof stream._sink.write === 'function' ? stream._sink.write(chunk, {}) : undefined));
        return stream._chain;
      },
      close() {
        stream._state = 'closed';
        stream._chain = stream._chain.then(() => (typeof stream._sink.close === 'function' ? stream._sink.close() : undefined));
        return stream._chain;
      },
      abort(reason) {
        stream._state = 'errored';
        return Promise.resolve(typeof stream._sink.abort === 'function' ? stream._sink.abort(reason) : undefined);
      },
      releaseLock() { stream._writer = null; },
    };
    return this._writer;
  }
  abort(reason) { return this.getWriter().abort(reason); }
  close() { return this.getWriter().close(); }
  get [Symbol.toStringTag]() { return 'WritableStream'; }
}

class TransformStream {
  constructor(transformer = {}) {
    let controller;
    this.readable = new ReadableStream({ start(c) { controller = c; } });
    const transform = typeof transformer.transform === 'function'
      ? (chunk) => transformer.transform(chunk, controller)
      : (chunk) => controller.enqueue(chunk);
    this.writable = new WritableStream({
      write: transform,
      close: async () => {
        if (typeof transformer.flush === 'function') await transformer.flush(controller);
        controller.close();
      },
      abort: (reason) => controller.error(reason),
    });
  }
  get [Symbol.toStringTag]() { return 'TransformStream'; }
}

module.exports = {
  ReadableStream, ReadableStreamDefaultReader, ReadableStreamDefaultController, WritableStream, TransformStream,
  ByteLengthQueuingStrategy: class { constructor({ highWaterMark }) { this.highWaterMark = highWaterMark; } size(c) { return c.byteLength; } },
  CountQueuingStrategy: class { constructor({ highWaterMark }) { this.highWaterMark = highWaterMark; } size() { return 1; } },
  TextEncoderStream: undefined,
  TextDecoderStream: undefined,
};
