// `util`: format and inspect (internal/inspect.js), promisify, callbackify, inherits,
// deprecate, types, and the old `is*` helpers.
'use strict';
const errors = require('internal/errors');
const { inspect, format, formatWithOptions, deepEqual } = require('internal/inspect');
const types = require('util/types');
const { TextEncoder, TextDecoder } = require('internal/text_coding');

const promisifyCustom = Symbol.for('nodejs.util.promisify.custom');

function promisify(original) {
  if (typeof original !== 'function') throw errors.invalidArgType('original', 'of type function', original);
  if (original[promisifyCustom]) {
    const fn = original[promisifyCustom];
    if (typeof fn !== 'function') throw errors.invalidArgType('util.promisify.custom', 'of type function', fn);
    return Object.defineProperty(fn, promisifyCustom, { value: fn, configurable: true });
  }
  function promisified(...args) {
    return new Promise((resolve, reject) => {
      Reflect.apply(original, this, [...args, (error, ...values) => {
        if (error) reject(error);
        else resolve(values.length > 1 ? values : values[0]);
      }]);
    });
  }
  Object.setPrototypeOf(promisified, Object.getPrototypeOf(original));
  Object.defineProperty(promisified, promisifyCustom, { value: promisified, configurable: true });
  return Object.defineProperties(promisified, Object.getOwnPropertyDescriptors(original));
}
promisify.custom = promisifyCustom;

function callbackify(original) {
  if (typeof original !== 'function') throw errors.invalidArgType('original', 'of type function', original);
  return function callbackified(...args) {
    const callback = args.pop();
    if (typeof callback !== 'function') throw errors.invalidArgType('last argument', 'of type function', callback);
    Reflect.apply(original, this, args).then(
      (value) => process.nextTick(callback, null, value),
      (reason) => {
        let error = reason;
        if (!reason) {
          error = new Error('Promise was rejected with a falsy value');
          error.code = 'ERR_FALSY_VALUE_REJECTION';
          error.reason = reason;
        }
        process.nextTick(callback, error);
      },
    );
  };
}

function inherits(ctor, superCtor) {
  if (typeof ctor !== 'function') throw errors.invalidArgType('ctor', 'of type function', ctor);
  if (typeof superCtor !== 'function') throw errors.invalidArgType('superCtor', 'of type function', superCtor);
  if (superCtor.prototype === undefined) throw errors.invalidArgType('superCtor.prototype', 'of type object', undefined);
  Object.defineProperty(ctor, 'super_', { value: superCtor, writable: true, configurable: true });
  Object.setPrototypeOf(ctor.prototype, superCtor.prototype);
}

const warned = new Set();
function deprecate(fn, message, code) {
  if (typeof fn !== 'function') throw errors.invalidArgType('fn', 'of type function', fn);
  function deprecated(...args) {
    const id = code || message;
    if (!warned.has(id)) {
      warned.add(id);
      process.emitWarning(`${code ? `[${code}] ` : ''}DeprecationWarning: ${message}`);
    }
    return new.target ? Reflect.construct(fn, args, new.target) : Reflect.apply(fn, this, args);
  }
  Object.setPrototypeOf(deprecated, fn);
  if (fn.prototype) deprecated.prototype = fn.prototype;
  return deprecated;
}

// NODE_DEBUG is never set in the sandbox: debug logs are off.
function debuglog() {
  const log = () => {};
  log.enabled = false;
  return log;
}

const isPrimitive = (value) => value === null || (typeof value !== 'object' && typeof value !== 'function');

module.exports = {
  format,
  formatWithOptions,
  inspect,
  promisify,
  callbackify,
  inherits,
  deprecate,
  debuglog,
  debug: debuglog,
  isDeepStrictEqual: (a, b) => deepEqual(a, b, true),
  types,
  TextEncoder,
  TextDecoder,
  isArray: Array.isArray,
  isBoolean: (value) => typeof value === 'boolean',
  isBuffer: (value) => Buffer.isBuffer(value),
  isDate: types.isDate,
  isError: (value) => value instanceof Error,
  isFunction: (value) => typeof value === 'function',
  isNull: (value) => value === null,
  isNullOrUndefined: (value) => value === null || value === undefined,
  isNumber: (value) => typeof value === 'number',
  isObject: (value) => value !== null && typeof value === 'object',
  isPrimitive,
  isRegExp: types.isRegExp,
  isString: (value) => typeof value === 'string',
  isSymbol: (value) => typeof value === 'symbol',
  isUndefined: (value) => value === undefined,
  toUSVString: (text) => String(text).toWellFormed(),
  stripVTControlCharacters: (text) => String(text).replace(/\u001b\[[0-9;]*[A-Za-z]/g, ''),
  getSystemErrorName: (code) => `Unknown system error ${code}`,
  _extend(target, source) {
    if (source === null || typeof source !== 'object') return target;
    for (const k of Object.keys(source)) target[k] = source[k];
    return target;
  },
  log(...args) {
    const now = new Date();
    const time = [now.getHours(), now.getMinutes(), now.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
    console.log(`${now.getDate()} ${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][now.getMonth()]} ${time} - ${format(...args)}`);
  },
  aborted(signal) {
    return new Promise((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
  },
};
