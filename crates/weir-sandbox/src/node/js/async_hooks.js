// `async_hooks`: AsyncResource and AsyncLocalStorage, with one limit. QuickJS has no
// hooks into promise continuations, so a store set by `run()` is seen for the
// synchronous extent of the callback only, not after an `await` (getStore() is then
// undefined). Libraries that only need the API to exist load and work.
'use strict';

let currentStores = new Map();

class AsyncLocalStorage {
  run(store, callback, ...args) {
    const previous = currentStores;
    currentStores = new Map(previous);
    currentStores.set(this, store);
    try {
      return callback(...args);
    } finally {
      currentStores = previous;
    }
  }
  exit(callback, ...args) {
    const previous = currentStores;
    currentStores = new Map(previous);
    currentStores.delete(this);
    try {
      return callback(...args);
    } finally {
      currentStores = previous;
    }
  }
  getStore() { return currentStores.get(this); }
  enterWith(store) { currentStores.set(this, store); }
  disable() { currentStores.delete(this); }
  static bind(fn) { return fn; }
  static snapshot() { return (fn, ...args) => fn(...args); }
}

class AsyncResource {
  constructor(type) { this.type = type; }
  runInAsyncScope(fn, thisArg, ...args) { return fn.apply(thisArg, args); }
  bind(fn, thisArg) { return fn.bind(thisArg); }
  emitDestroy() { return this; }
  asyncId() { return 1; }
  triggerAsyncId() { return 0; }
  static bind(fn, type, thisArg) { return fn.bind(thisArg); }
}

module.exports = {
  AsyncLocalStorage,
  AsyncResource,
  executionAsyncId: () => 1,
  triggerAsyncId: () => 0,
  executionAsyncResource: () => ({}),
  createHook: () => ({ enable() { return this; }, disable() { return this; } }),
  asyncWrapProviders: {},
};
