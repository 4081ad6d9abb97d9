// Event, EventTarget, AbortController, AbortSignal and DOMException: what `fetch` and
// packages with cancellation use.
'use strict';

class DOMException extends Error {
  constructor(message = '', options = 'Error') {
    super(message);
    this.name = typeof options === 'string' ? options : (options && options.name) || 'Error';
    if (options && typeof options === 'object' && 'cause' in options) this.cause = options.cause;
  }
  get code() {
    return { AbortError: 20, TimeoutError: 23, NotSupportedError: 9, InvalidStateError: 11, DataCloneError: 25 }[this.name] || 0;
  }
}

class Event {
  constructor(type, options = {}) {
    if (arguments.length === 0) throw new TypeError('The "type" argument must be specified');
    this.type = String(type);
    this.bubbles = Boolean(options && options.bubbles);
    this.cancelable = Boolean(options && options.cancelable);
    this.composed = Boolean(options && options.composed);
    this.defaultPrevented = false;
    this.timeStamp = performance.now();
    this.target = null;
    this.currentTarget = null;
    this.isTrusted = false;
    this._stopped = false;
  }
  preventDefault() {
    if (this.cancelable) this.defaultPrevented = true;
  }
  stopPropagation() {}
  stopImmediatePropagation() { this._stopped = true; }
  composedPath() { return this.currentTarget ? [this.currentTarget] : []; }
  get [Symbol.toStringTag]() { return 'Event'; }
}

class EventTarget {
  constructor() {
    Object.defineProperty(this, '_listeners', { value: new Map(), writable: true });
  }
  addEventListener(type, listener, options = {}) {
    if (!listener) return;
    if (!this._listeners) Object.defineProperty(this, '_listeners', { value: new Map(), writable: true });
    const once = typeof options === 'object' && options !== null && Boolean(options.once);
    const list = this._listeners.get(type) || [];
    if (list.some((entry) => entry.listener === listener)) return;
    list.push({ listener, once });
    this._listeners.set(type, list);
    const signal = options && options.signal;
    if (signal) signal.addEventListener('abort', () => this.removeEventListener(type, listener), { once: true });
  }
  removeEventListener(type, listener) {
    const list = this._listeners && this._listeners.get(type);
    if (!list) return;
    this._listeners.set(type, list.filter((entry) => entry.listener !== listener));
  }
  dispatchEvent(event) {
    event.target = this;
    event.currentTarget = this;
    const list = (this._listeners && this._listeners.get(event.type)) || [];
    for (const entry of list.slice()) {
      if (entry.once) this.removeEventListener(event.type, entry.listener);
      if (typeof entry.listener === 'function') entry.listener.call(this, event);
      else if (entry.listener && typeof entry.listener.handleEvent === 'function') entry.listener.handleEvent(event);
      if (event._stopped) break;
    }
    const handler = this[`on${event.type}`];
    if (typeof handler === 'function') handler.call(this, event);
    return !event.defaultPrevented;
  }
}

const making = Symbol('making');

class AbortSignal extends EventTarget {
  constructor(token) {
    if (token !== making) throw new TypeError('Illegal constructor');
    super();
    this.aborted = false;
    this.reason = undefined;
    this.onabort = null;
  }
  throwIfAborted() {
    if (this.aborted) throw this.reason;
  }
  static abort(reason) {
    const signal = new AbortSignal(making);
    signal.aborted = true;
    signal.reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    return signal;
  }
  static timeout(ms) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
    timer.unref();
    return controller.signal;
  }
  static any(signals) {
    const controller = new AbortController();
    for (const signal of signals) {
      if (signal.aborted) {
        controller.abort(signal.reason);
        break;
      }
      signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
    }
    return controller.signal;
  }
  get [Symbol.toStringTag]() { return 'AbortSignal'; }
}

class AbortController {
  constructor() {
    this.signal = new AbortSignal(making);
  }
  abort(reason) {
    const signal = this.signal;
    if (signal.aborted) return;
    signal.aborted = true;
    signal.reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    signal.dispatchEvent(new Event('abort'));
  }
  get [Symbol.toStringTag]() { return 'AbortController'; }
}

module.exports = { Event, EventTarget, AbortController, AbortSignal, DOMException };
