// Node's globals (Buffer, URL, TextEncoder, fetch, AbortController, …), each made when
// first read. Defined for an invocation only if its app's code names one of them, or
// once it loads a built-in module (which may use them): making them costs every
// invocation that never uses them.
'use strict';

const FROM = [
  ['buffer', ['Buffer', 'Blob']],
  ['url', ['URL', 'URLSearchParams']],
  ['internal/text_coding', ['TextEncoder', 'TextDecoder']],
  ['internal/abort', ['AbortController', 'AbortSignal', 'Event', 'EventTarget', 'DOMException']],
  ['internal/blob', ['File']],
  ['internal/fetch', ['fetch', 'Headers', 'Request', 'Response', 'FormData']],
  ['internal/web_streams', ['ReadableStream', 'WritableStream', 'TransformStream']],
];

function lazyGlobal(global, name, load) {
  const define = (value) => Object.defineProperty(global, name, {
    value, writable: true, configurable: true, enumerable: false,
  });
  Object.defineProperty(global, name, {
    configurable: true,
    enumerable: false,
    get() {
      const value = load();
      define(value);
      return value;
    },
    set: define,
  });
}

module.exports = function defineGlobals(global) {
  for (const [module, names] of FROM) {
    for (const name of names) {
      if (!Object.prototype.hasOwnProperty.call(global, name)) lazyGlobal(global, name, () => require(module)[name]);
    }
  }
  lazyGlobal(global, 'crypto', () => require('crypto').webcrypto);
  lazyGlobal(global, 'structuredClone', () => require('internal/inspect').structuredClone);
};
