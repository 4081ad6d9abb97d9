// Errors as Node's built-ins throw them: the usual classes, with Node's `code`, so that
// packages that branch on `err.code` read what they expect.
'use strict';

function coded(Base, code, message) {
  const error = new Base(message);
  error.code = code;
  return error;
}

// How Node's messages show a received value.
function received(value) {
  if (value === null || value === undefined) return ` Received ${value}`;
  if (typeof value === 'function') return ` Received function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = value.constructor && value.constructor.name;
    return name ? ` Received an instance of ${name}` : ' Received an object';
  }
  let shown = String(value);
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  if (typeof value === 'string') shown = `'${shown}'`;
  return ` Received type ${typeof value} (${shown})`;
}

exports.coded = coded;
exports.received = received;
exports.invalidArgType = (name, expected, value) =>
  coded(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" argument must be ${expected}.${received(value)}`);
exports.invalidArgValue = (name, value, reason = 'is invalid') =>
  coded(TypeError, 'ERR_INVALID_ARG_VALUE', `The argument '${name}' ${reason}.${received(value)}`);
exports.outOfRange = (name, range, value) =>
  coded(RangeError, 'ERR_OUT_OF_RANGE',
        `The value of "${name}" is out of range. It must be ${range}. Received ${value}`);
exports.unknownEncoding = (encoding) =>
  coded(TypeError, 'ERR_UNKNOWN_ENCODING', `Unknown encoding: ${encoding}`);
// What the sandbox does not offer, named with why.
exports.notAvailable = (what, why) =>
  coded(Error, 'ERR_WEIR_NOT_AVAILABLE', `${what} is not available in the Weir sandbox: ${why}`);
