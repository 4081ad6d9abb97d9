// `events`: EventEmitter, as a function (not a class) so that old packages'
// `EventEmitter.call(this)` after `util.inherits` works as well as `class … extends`.
// Listeners live in `_events` (one function, or an array), as packages sometimes read.
'use strict';
const errors = require('internal/errors');

const errorMonitor = Symbol('events.errorMonitor');
const captureRejectionSymbol = Symbol.for('nodejs.rejection');
let defaultMaxListeners = 10;

function EventEmitter(options) {
  EventEmitter.init.call(this, options);
}

EventEmitter.init = function init() {
  if (this._events === undefined || this._events === Object.getPrototypeOf(this)._events) {
    this._events = Object.create(null);
    this._eventsCount = 0;
  }
  this._maxListeners = this._maxListeners || undefined;
};

const proto = EventEmitter.prototype;
proto._events = undefined;
proto._eventsCount = 0;
proto._maxListeners = undefined;

function events(emitter) {
  if (emitter._events === undefined) {
    emitter._events = Object.create(null);
    emitter._eventsCount = 0;
  }
  return emitter._events;
}

function checkListener(listener) {
  if (typeof listener !== 'function') throw errors.invalidArgType('listener', 'of type function', listener);
}

proto.setMaxListeners = function setMaxListeners(n) {
  if (typeof n !== 'number' || n < 0 || Number.isNaN(n)) throw errors.outOfRange('n', 'a non-negative number', n);
  this._maxListeners = n;
  return this;
};
proto.getMaxListeners = function getMaxListeners() {
  return this._maxListeners === undefined ? defaultMaxListeners : this._maxListeners;
};

function add(emitter, name, listener, prepend) {
  checkListener(listener);
  const all = events(emitter);
  if (all.newListener !== undefined) {
    emitter.emit('newListener', name, listener.listener ? listener.listener : listener);
  }
  const existing = all[name];
  if (existing === undefined) {
    all[name] = listener;
    emitter._eventsCount += 1;
  } else {
    const list = typeof existing === 'function' ? [existing] : existing;
    if (prepend) list.unshift(listener);
    else list.push(listener);
    all[name] = list;
    const max = emitter.getMaxListeners();
    if (max > 0 && list.length > max && !list.warned) {
      list.warned = true;
      const warning = new Error(`Possible EventEmitter memory leak detected. ${list.length} ${String(name)} listeners added. Use emitter.setMaxListeners() to increase limit`);
      warning.name = 'MaxListenersExceededWarning';
      process.emitWarning(warning);
    }
  }
  return emitter;
}

proto.addListener = function addListener(name, listener) { return add(this, name, listener, false); };
proto.on = proto.addListener;
proto.prependListener = function prependListener(name, listener) { return add(this, name, listener, true); };

function onceWrapper(emitter, name, listener) {
  const state = { fired: false };
  function wrapper(...args) {
    if (state.fired) return undefined;
    state.fired = true;
    emitter.removeListener(name, wrapper);
    return listener.apply(emitter, args);
  }
  wrapper.listener = listener;
  return wrapper;
}
proto.once = function once(name, listener) {
  checkListener(listener);
  return this.on(name, onceWrapper(this, name, listener));
};
proto.prependOnceListener = function prependOnceListener(name, listener) {
  checkListener(listener);
  return this.prependListener(name, onceWrapper(this, name, listener));
};

proto.removeListener = function removeListener(name, listener) {
  checkListener(listener);
  const all = events(this);
  const existing = all[name];
  if (existing === undefined) return this;
  if (existing === listener || existing.listener === listener) {
    this._eventsCount -= 1;
    if (this._eventsCount === 0) this._events = Object.create(null);
    else delete all[name];
    if (all.removeListener) this.emit('removeListener', name, existing.listener || listener);
    return this;
  }
  if (typeof existing !== 'function') {
    for (let i = existing.length - 1; i >= 0; i -= 1) {
      if (existing[i] === listener || existing[i].listener === listener) {
        const removed = existing[i];
        existing.splice(i, 1);
        if (existing.length === 1) all[name] = existing[0];
        if (all.removeListener !== undefined) this.emit('removeListener', name, removed.listener || removed);
        break;
      }
    }
  }
  return this;
};
proto.off = proto.removeListener;

proto.removeAllListeners = function removeAllListeners(name) {
  const all = events(this);
  if (all.removeListener === undefined) {
    if (arguments.length === 0) {
      this._events = Object.create(null);
      this._eventsCount = 0;
    } else if (all[name] !== undefined) {
      this._eventsCount -= 1;
      if (this._eventsCount === 0) this._events = Object.create(null);
      else delete all[name];
    }
    return this;
  }
  if (arguments.length === 0) {
    for (const key of Reflect.ownKeys(all)) {
      if (key !== 'removeListener') this.removeAllListeners(key);
    }
    this.removeAllListeners('removeListener');
    this._events = Object.create(null);
    this._eventsCount = 0;
    return this;
  }
  const listeners = all[name];
  if (typeof listeners === 'function') this.removeListener(name, listeners);
  else if (listeners !== undefined) {
    for (let i = listeners.length - 1; i >= 0; i -= 1) this.removeListener(name, listeners[i]);
  }
  return this;
};

proto.emit = function emit(name, ...args) {
  const all = events(this);
  if (name === 'error' && all[errorMonitor] !== undefined) this.emit(errorMonitor, ...args);
  const handler = all[name];
  if (handler === undefined) {
    if (name === 'error') {
      const error = args[0];
      if (error instanceof Error) throw error;
      const unhandled = new Error(`Unhandled error.${error === undefined ? '' : ` (${String(error)})`}`);
      unhandled.code = 'ERR_UNHANDLED_ERROR';
      unhandled.context = error;
      throw unhandled;
    }
    return false;
  }
  if (typeof handler === 'function') {
    handler.apply(this, args);
  } else {
    for (const listener of handler.slice()) listener.apply(this, args);
  }
  return true;
};

function listenersOf(emitter, name, unwrap) {
  const existing = events(emitter)[name];
  if (existing === undefined) return [];
  const list = typeof existing === 'function' ? [existing] : existing.slice();
  return unwrap ? list.map((listener) => listener.listener || listener) : list;
}
proto.listeners = function listeners(name) { return listenersOf(this, name, true); };
proto.rawListeners = function rawListeners(name) { return listenersOf(this, name, false); };
proto.listenerCount = function listenerCount(name, listener) {
  const list = listenersOf(this, name, true);
  return listener === undefined ? list.length : list.filter((l) => l === listener).length;
};
proto.eventNames = function eventNames() {
  return this._eventsCount > 0 ? Reflect.ownKeys(this._events) : [];
};

// --- Helpers on the module.
function addAbortListener(signal, listener) {
  if (signal.aborted) queueMicrotask(() => listener());
  else signal.addEventListener('abort', listener, { once: true });
  return { [Symbol.dispose || Symbol.for('dispose')]() { signal.removeEventListener('abort', listener); } };
}

function abortError(signal) {
  const error = new Error('The operation was aborted');
  error.name = 'AbortError';
  error.code = 'ABORT_ERR';
  error.cause = signal && signal.reason;
  return error;
}

function once(emitter, name, options = {}) {
  const signal = options && options.signal;
  if (signal && signal.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    if (typeof emitter.addEventListener === 'function' && typeof emitter.on !== 'function') {
      emitter.addEventListener(name, (...args) => resolve(args), { once: true });
      return;
    }
    const onError = (error) => {
      emitter.removeListener(name, onEvent);
      reject(error);
    };
    const onEvent = (...args) => {
      if (name !== 'error') emitter.removeListener('error', onError);
      resolve(args);
    };
    emitter.once(name, onEvent);
    if (name !== 'error') emitter.once('error', onError);
    if (signal) {
      signal.addEventListener('abort', () => {
        emitter.removeListener(name, onEvent);
        emitter.removeListener('error', onError);
        reject(abortError(signal));
      }, { once: true });
    }
  });
}

// `for await (const [value] of on(emitter, 'data'))`.
function on(emitter, name, options = {}) {
  const queued = [];
  const waiting = [];
  let failure = null;
  let done = false;
  const onEvent = (...args) => {
    if (waiting.length) waiting.shift().resolve({ value: args, done: false });
    else queued.push(args);
  };
  const onError = (error) => {
    done = true;
    if (waiting.length) waiting.shift().reject(error);
    else failure = error;
  };
  emitter.on(name, onEvent);
  if (name !== 'error') emitter.on('error', onError);
  const finish = () => {
    done = true;
    emitter.removeListener(name, onEvent);
    emitter.removeListener('error', onError);
    for (const waiter of waiting.splice(0)) waiter.resolve({ value: undefined, done: true });
  };
  if (options && options.signal) {
    options.signal.addEventListener('abort', () => onError(abortError(options.signal)), { once: true });
  }
  return {
    next() {
      if (queued.length) return Promise.resolve({ value: queued.shift(), done: false });
      if (failure) {
        const error = failure;
        failure = null;
        finish();
        return Promise.reject(error);
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    return() {
      finish();
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(error) {
      finish();
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() { return this; },
  };
}

Object.defineProperty(EventEmitter, 'defaultMaxListeners', {
  enumerable: true,
  get() { return defaultMaxListeners; },
  set(n) {
    if (typeof n !== 'number' || n < 0 || Number.isNaN(n)) throw errors.outOfRange('defaultMaxListeners', 'a non-negative number', n);
    defaultMaxListeners = n;
  },
});
EventEmitter.EventEmitter = EventEmitter;
EventEmitter.usingDomains = false;
EventEmitter.captureRejections = false;
EventEmitter.captureRejectionSymbol = captureRejectionSymbol;
EventEmitter.errorMonitor = errorMonitor;
EventEmitter.once = once;
EventEmitter.on = on;
EventEmitter.addAbortListener = addAbortListener;
EventEmitter.listenerCount = (emitter, name) => emitter.listenerCount(name);
EventEmitter.getEventListeners = (emitter, name) => {
  if (typeof emitter.listeners === 'function') return emitter.listeners(name);
  return [];
};
EventEmitter.getMaxListeners = (emitter) => emitter.getMaxListeners ? emitter.getMaxListeners() : defaultMaxListeners;
EventEmitter.setMaxListeners = (n = defaultMaxListeners, ...targets) => {
  if (targets.length === 0) defaultMaxListeners = n;
  for (const target of targets) if (typeof target.setMaxListeners === 'function') target.setMaxListeners(n);
};
EventEmitter.EventEmitterAsyncResource = EventEmitter;

module.exports = EventEmitter;
