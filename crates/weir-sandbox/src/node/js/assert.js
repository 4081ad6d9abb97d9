// `assert`: the assertion functions, AssertionError, and `assert.strict`.
'use strict';
const { inspect, deepEqual } = require('internal/inspect');

class AssertionError extends Error {
  constructor(options = {}) {
    const { message, actual, expected, operator } = options;
    const generated = message === undefined;
    super(generated
      ? `${inspect(actual)} ${operator || '=='} ${inspect(expected)}`
      : String(message));
    this.name = 'AssertionError';
    this.code = 'ERR_ASSERTION';
    this.actual = actual;
    this.expected = expected;
    this.operator = operator;
    this.generatedMessage = generated;
  }
}

function fail(message, actual, expected, operator) {
  if (message instanceof Error) throw message;
  throw new AssertionError({ message, actual, expected, operator });
}

function check(passed, message, actual, expected, operator) {
  if (!passed) fail(message, actual, expected, operator);
}

function matches(error, expected) {
  if (expected === undefined) return true;
  if (typeof expected === 'function') {
    if (expected.prototype !== undefined && error instanceof expected) return true;
    if (Error.isPrototypeOf(expected) || expected === Error) return false;
    return expected.call({}, error) === true;
  }
  if (expected instanceof RegExp) return expected.test(String(error));
  if (typeof expected === 'object' && expected !== null) {
    return Object.keys(expected).every((k) => (expected[k] instanceof RegExp && typeof error[k] === 'string'
      ? expected[k].test(error[k]) : deepEqual(error[k], expected[k], true)));
  }
  return false;
}

function make(strict) {
  function assert(value, message) {
    check(value, message === undefined ? 'The expression evaluated to a falsy value' : message, value, true, '==');
  }
  const equal = strict
    ? (actual, expected, message) => check(Object.is(actual, expected), message, actual, expected, 'strictEqual')
    : (actual, expected, message) => check(actual == expected || (actual !== actual && expected !== expected), message, actual, expected, '=='); // eslint-disable-line eqeqeq
  const notEqual = strict
    ? (actual, expected, message) => check(!Object.is(actual, expected), message, actual, expected, 'notStrictEqual')
    : (actual, expected, message) => check(actual != expected, message, actual, expected, '!='); // eslint-disable-line eqeqeq
  Object.assign(assert, {
    ok: assert,
    fail,
    AssertionError,
    equal,
    notEqual,
    strictEqual: (a, e, m) => check(Object.is(a, e), m, a, e, 'strictEqual'),
    notStrictEqual: (a, e, m) => check(!Object.is(a, e), m, a, e, 'notStrictEqual'),
    deepEqual: (a, e, m) => check(deepEqual(a, e, strict), m, a, e, strict ? 'deepStrictEqual' : 'deepEqual'),
    notDeepEqual: (a, e, m) => check(!deepEqual(a, e, strict), m, a, e, strict ? 'notDeepStrictEqual' : 'notDeepEqual'),
    deepStrictEqual: (a, e, m) => check(deepEqual(a, e, true), m, a, e, 'deepStrictEqual'),
    notDeepStrictEqual: (a, e, m) => check(!deepEqual(a, e, true), m, a, e, 'notDeepStrictEqual'),
    throws(fn, expected, message) {
      if (typeof expected === 'string') {
        message = expected;
        expected = undefined;
      }
      try {
        fn();
      } catch (error) {
        if (!matches(error, expected)) throw error;
        return;
      }
      fail(message || 'Missing expected exception.', undefined, expected, 'throws');
    },
    doesNotThrow(fn, message) {
      try {
        fn();
      } catch (error) {
        fail(typeof message === 'string' ? message : `Got unwanted exception.\nActual message: "${error && error.message}"`, error, undefined, 'doesNotThrow');
      }
    },
    async rejects(promiseOrFn, expected, message) {
      if (typeof expected === 'string') {
        message = expected;
        expected = undefined;
      }
      try {
        await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
      } catch (error) {
        if (!matches(error, expected)) throw error;
        return;
      }
      fail(message || 'Missing expected rejection.', undefined, expected, 'rejects');
    },
    async doesNotReject(promiseOrFn, message) {
      try {
        await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
      } catch (error) {
        fail(typeof message === 'string' ? message : `Got unwanted rejection.\nActual message: "${error && error.message}"`, error, undefined, 'doesNotReject');
      }
    },
    ifError(value) {
      if (value !== null && value !== undefined) {
        if (value instanceof Error) throw value;
        fail(`ifError got unwanted exception: ${inspect(value)}`, value, null, 'ifError');
      }
    },
    match: (text, regexp, m) => check(regexp.test(text), m, text, regexp, 'match'),
    doesNotMatch: (text, regexp, m) => check(!regexp.test(text), m, text, regexp, 'doesNotMatch'),
  });
  return assert;
}

const assert = make(false);
assert.strict = make(true);
assert.strict.strict = assert.strict;
module.exports = assert;
