// The timers (QuickJS has none), made the first time a handler sets one: the Rust side
// says when each is due. As in Node, each is an object (`Timeout`, `Immediate`) that
// `unref()` stops from keeping the invocation waiting once its handler has settled;
// `clearTimeout` takes the object or the number it converts to. An interval is one
// pending timer at a time.
'use strict';
const { host } = internal;

const armed = new Map(); // the Rust side's timer id → its timer
const byNumber = new Map(); // a timer's number → its timer, while it is active

class Timer {
  constructor(callback, ms, args, repeat) {
    this._onTimeout = callback;
    this._idleTimeout = ms;
    this._args = args;
    this._repeat = repeat;
    this._ref = true;
    this._id = 0;
    this._arm();
    this._number = this._id;
    byNumber.set(this._number, this);
  }
  _arm() {
    this._id = host.timer(this._idleTimeout);
    armed.set(this._id, this);
    if (!this._ref) host.unrefTimer(this._id, true);
  }
  _disarm() {
    if (armed.get(this._id) === this) {
      armed.delete(this._id);
      host.clearTimer(this._id);
    }
    this._id = 0;
  }
  ref() {
    this._ref = true;
    if (this._id) host.unrefTimer(this._id, false);
    return this;
  }
  unref() {
    this._ref = false;
    if (this._id) host.unrefTimer(this._id, true);
    return this;
  }
  hasRef() { return this._ref; }
  refresh() {
    if (this._id) {
      this._disarm();
      this._arm();
    }
    return this;
  }
  close() {
    this._disarm();
    byNumber.delete(this._number);
    return this;
  }
  [Symbol.toPrimitive]() { return this._number; }
}
class Timeout extends Timer {}
class Immediate extends Timer {}

function delay(ms) {
  const n = Number(ms);
  return n >= 1 && n <= 2147483647 ? n : 1;
}

function needsFunction(name, callback) {
  if (typeof callback !== 'function') {
    throw Object.assign(new TypeError(`${name} needs a function, got ${typeof callback}`),
                        { code: 'ERR_INVALID_ARG_TYPE' });
  }
}

module.exports = {
  Timeout,
  Immediate,
  needsFunction,
  setTimeout(callback, ms, ...args) {
    needsFunction('setTimeout', callback);
    return new Timeout(callback, delay(ms), args, false);
  },
  setInterval(callback, ms, ...args) {
    needsFunction('setInterval', callback);
    return new Timeout(callback, delay(ms), args, true);
  },
  setImmediate(callback, ...args) {
    needsFunction('setImmediate', callback);
    return new Immediate(callback, 0, args, false);
  },
  clear(timer) {
    if (timer instanceof Timer) timer.close();
    else if (timer !== null && timer !== undefined) {
      const found = byNumber.get(Number(timer));
      if (found) found.close();
    }
  },
  // The Rust side's timer `id` is due.
  fire(id) {
    const timer = armed.get(id);
    if (!timer) return;
    armed.delete(id);
    if (timer._repeat) timer._arm();
    else byNumber.delete(timer._number);
    timer._onTimeout.apply(timer, timer._args);
  },
};
