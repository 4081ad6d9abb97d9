// `util/types` (also `util.types`): what a value is, by its internal tag as Node reads it.
'use strict';
const { tag } = require('internal/inspect');

const typed = (name) => (value) => ArrayBuffer.isView(value) && tag(value) === name;

module.exports = {
  isPromise: (value) => value instanceof Promise || tag(value) === 'Promise',
  isDate: (value) => value instanceof Date,
  isRegExp: (value) => value instanceof RegExp,
  isNativeError: (value) => value instanceof Error,
  isMap: (value) => value instanceof Map,
  isSet: (value) => value instanceof Set,
  isWeakMap: (value) => value instanceof WeakMap,
  isWeakSet: (value) => value instanceof WeakSet,
  isMapIterator: (value) => tag(value) === 'Map Iterator',
  isSetIterator: (value) => tag(value) === 'Set Iterator',
  isArrayBuffer: (value) => value instanceof ArrayBuffer,
  isSharedArrayBuffer: (value) => typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer,
  isAnyArrayBuffer: (value) => value instanceof ArrayBuffer
    || (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer),
  isArrayBufferView: (value) => ArrayBuffer.isView(value),
  isTypedArray: (value) => ArrayBuffer.isView(value) && !(value instanceof DataView),
  isDataView: (value) => value instanceof DataView,
  isUint8Array: typed('Uint8Array'),
  isUint8ClampedArray: typed('Uint8ClampedArray'),
  isUint16Array: typed('Uint16Array'),
  isUint32Array: typed('Uint32Array'),
  isInt8Array: typed('Int8Array'),
  isInt16Array: typed('Int16Array'),
  isInt32Array: typed('Int32Array'),
  isFloat32Array: typed('Float32Array'),
  isFloat64Array: typed('Float64Array'),
  isBigInt64Array: typed('BigInt64Array'),
  isBigUint64Array: typed('BigUint64Array'),
  isAsyncFunction: (value) => typeof value === 'function'
    && (tag(value) === 'AsyncFunction' || tag(value) === 'AsyncGeneratorFunction'),
  isGeneratorFunction: (value) => typeof value === 'function'
    && (tag(value) === 'GeneratorFunction' || tag(value) === 'AsyncGeneratorFunction'),
  isGeneratorObject: (value) => tag(value) === 'Generator' || tag(value) === 'AsyncGenerator',
  isArgumentsObject: (value) => tag(value) === 'Arguments',
  isNumberObject: (value) => typeof value === 'object' && value instanceof Number,
  isStringObject: (value) => typeof value === 'object' && value instanceof String,
  isBooleanObject: (value) => typeof value === 'object' && value instanceof Boolean,
  isBigIntObject: (value) => typeof value === 'object' && value !== null && tag(value) === 'BigInt',
  isSymbolObject: (value) => typeof value === 'object' && value !== null && tag(value) === 'Symbol',
  isBoxedPrimitive: (value) => typeof value === 'object' && value !== null
    && (value instanceof Number || value instanceof String || value instanceof Boolean
        || tag(value) === 'BigInt' || tag(value) === 'Symbol'),
  isKeyObject: (value) => value !== null && typeof value === 'object' && value[Symbol.for('weir.keyObject')] === true,
  isCryptoKey: () => false,
  isProxy: () => false,
  isExternal: () => false,
  isModuleNamespaceObject: (value) => tag(value) === 'Module',
  isWeakRef: (value) => typeof WeakRef !== 'undefined' && value instanceof WeakRef,
};
