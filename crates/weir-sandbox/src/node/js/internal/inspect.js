// util.inspect, util.format and deep equality: what `util`, `assert` and `console`-like
// helpers of packages share. The output follows Node's shapes (`{ a: 1 }`,
// `[ 1, 2 ]`, `Map(1) { 'a' => 1 }`, `[Function: f]`, `<ref *1>`…) without its colour
// and column layouts.
'use strict';

const custom = Symbol.for('nodejs.util.inspect.custom');
const DEFAULTS = {
  depth: 2, colors: false, showHidden: false, customInspect: true, maxArrayLength: 100,
  maxStringLength: 10000, breakLength: 80, compact: 3, sorted: false, getters: false,
};

const tag = (value) => Object.prototype.toString.call(value).slice(8, -1);
const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function quote(text) {
  const escaped = text.replace(/[\\'\n\r\t\b\f\v\0]/g, (c) => ({
    '\\': '\\\\', "'": "\\'", '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f', '\v': '\\v', '\0': '\\0',
  })[c]);
  return `'${escaped}'`;
}

function key(name) {
  if (typeof name === 'symbol') return `[${name.toString()}]`;
  return identifier.test(name) ? name : quote(name);
}

function constructorName(value) {
  let proto = Object.getPrototypeOf(value);
  while (proto !== null) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, 'constructor');
    if (descriptor && typeof descriptor.value === 'function' && descriptor.value.name) return descriptor.value.name;
    proto = Object.getPrototypeOf(proto);
  }
  return null;
}

function formatPrimitive(value, options, nested) {
  switch (typeof value) {
    case 'string': {
      let text = value;
      let more = '';
      if (text.length > options.maxStringLength) {
        more = `... ${text.length - options.maxStringLength} more characters`;
        text = text.slice(0, options.maxStringLength);
      }
      return nested ? quote(text) + more : text + more;
    }
    case 'number': return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint': return `${value}n`;
    case 'symbol': return value.toString();
    default: return String(value);
  }
}

function functionBase(fn) {
  const source = Function.prototype.toString.call(fn);
  if (source.startsWith('class')) return `[class ${fn.name || '(anonymous)'}]`;
  const kind = tag(fn) === 'AsyncFunction' ? 'AsyncFunction'
    : tag(fn) === 'GeneratorFunction' ? 'GeneratorFunction'
    : tag(fn) === 'AsyncGeneratorFunction' ? 'AsyncGeneratorFunction' : 'Function';
  return `[${kind}${fn.name ? `: ${fn.name}` : ' (anonymous)'}]`;
}

function errorBase(error) {
  const stack = typeof error.stack === 'string' ? error.stack : '';
  const head = `${error.name || 'Error'}: ${error.message}`;
  if (!stack) return `[${head}]`;
  return stack.includes(error.message) && stack.startsWith(error.name || 'Error') ? stack : `${head}\n${stack}`.trimEnd();
}

function ownKeys(value, options) {
  const names = options.showHidden ? Object.getOwnPropertyNames(value) : Object.keys(value);
  const symbols = Object.getOwnPropertySymbols(value)
    .filter((s) => options.showHidden || Object.getOwnPropertyDescriptor(value, s).enumerable);
  const all = names.concat(symbols);
  if (options.sorted) all.sort();
  return all;
}

function property(value, name, options, depth, seen) {
  const descriptor = Object.getOwnPropertyDescriptor(value, name);
  let shown;
  if (descriptor && descriptor.value === undefined && (descriptor.get || descriptor.set)) {
    shown = descriptor.get && descriptor.set ? '[Getter/Setter]' : descriptor.get ? '[Getter]' : '[Setter]';
  } else {
    shown = formatValue(descriptor ? descriptor.value : value[name], options, depth + 1, seen);
  }
  const hidden = descriptor && !descriptor.enumerable;
  return `${hidden ? `[${key(name)}]` : key(name)}: ${shown}`;
}

// `entries` on one line when they fit, else one per line.
function wrap(prefix, entries, open, close, options, depth) {
  if (entries.length === 0) return `${prefix}${open}${close}`;
  const start = prefix ? `${prefix}${open} ` : `${open} `;
  const line = `${start}${entries.join(', ')} ${close}`;
  const width = options.breakLength - depth * 2;
  if (line.length <= width && !entries.some((e) => e.includes('\n'))) return line;
  const indent = '  ';
  const body = entries.map((e) => indent + e.split('\n').join(`\n${indent}`)).join(',\n');
  return `${prefix}${open}\n${body}\n${close}`;
}

function formatValue(value, options, depth, seen) {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
    return formatPrimitive(value, options, depth > 0);
  }
  if (options.customInspect && typeof value[custom] === 'function' && value[custom] !== inspect) {
    const shown = value[custom](options.depth - depth, { ...options }, inspect);
    if (shown !== value) return typeof shown === 'string' ? shown : formatValue(shown, options, depth, seen);
  }
  if (seen.includes(value)) {
    if (!seen.circular.has(value)) seen.circular.set(value, seen.circular.size + 1);
    return `[Circular *${seen.circular.get(value)}]`;
  }
  const name = constructorName(value);
  const kind = tag(value);
  let base = '';
  let prefix = '';
  let entries = null;
  let open = '{';
  let close = '}';
  if (typeof value === 'function') {
    base = functionBase(value);
  } else if (Array.isArray(value)) {
    prefix = name === 'Array' ? '' : `${name || '[Array: null prototype]'}(${value.length}) `;
    open = '[';
    close = ']';
  } else if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    prefix = `${name || kind}(${value.length}) `;
    open = '[';
    close = ']';
  } else if (value instanceof Map) {
    prefix = `${name || 'Map'}(${value.size}) `;
  } else if (value instanceof Set) {
    prefix = `${name || 'Set'}(${value.size}) `;
  } else if (value instanceof Date) {
    base = Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  } else if (value instanceof RegExp) {
    base = RegExp.prototype.toString.call(value);
  } else if (value instanceof Error) {
    base = errorBase(value);
  } else if (kind === 'Promise') {
    base = 'Promise { <pending> }';
  } else if (value instanceof ArrayBuffer) {
    const bytes = Array.from(new Uint8Array(value, 0, Math.min(value.byteLength, 50)), (b) => b.toString(16).padStart(2, '0'));
    return `ArrayBuffer { [Uint8Contents]: <${bytes.join(' ')}${value.byteLength > 50 ? ` ... ${value.byteLength - 50} more bytes` : ''}>, byteLength: ${value.byteLength} }`;
  } else if (kind === 'WeakMap' || kind === 'WeakSet') {
    return `${kind} { <items unknown> }`;
  } else if (name === null) {
    prefix = '[Object: null prototype] ';
  } else if (name !== 'Object') {
    prefix = `${name} `;
  } else if (kind !== 'Object' && typeof value[Symbol.toStringTag] === 'string') {
    prefix = `Object [${value[Symbol.toStringTag]}] `;
  }
  const keys = ownKeys(value, options).filter((k) => {
    if (Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView))) {
      return typeof k === 'symbol' || !/^(0|[1-9][0-9]*)$/.test(k);
    }
    if (value instanceof Error) return k !== 'stack' && k !== 'message';
    return true;
  });
  const hasItems = Array.isArray(value) || value instanceof Map || value instanceof Set
    || (ArrayBuffer.isView(value) && !(value instanceof DataView));
  if (base && keys.length === 0) return base;
  if (depth > options.depth) {
    if (base) return base;
    if (Array.isArray(value)) return '[Array]';
    return `[${name || 'Object'}]`;
  }
  seen.push(value);
  entries = [];
  if (hasItems) {
    const items = value instanceof Map ? Array.from(value) : Array.from(value);
    const shown = items.slice(0, options.maxArrayLength);
    for (const item of shown) {
      if (value instanceof Map) {
        entries.push(`${formatValue(item[0], options, depth + 1, seen)} => ${formatValue(item[1], options, depth + 1, seen)}`);
      } else {
        entries.push(formatValue(item, options, depth + 1, seen));
      }
    }
    if (items.length > shown.length) {
      const rest = items.length - shown.length;
      entries.push(`... ${rest} more item${rest > 1 ? 's' : ''}`);
    }
  }
  for (const k of keys) entries.push(property(value, k, options, depth, seen));
  seen.pop();
  let shown = base ? wrap(`${base} `, entries, open, close, options, depth) : wrap(prefix, entries, open, close, options, depth);
  if (seen.circular.has(value)) shown = `<ref *${seen.circular.get(value)}> ${shown}`;
  return shown;
}

function inspect(value, options, ...legacy) {
  let opts = { ...DEFAULTS };
  if (typeof options === 'boolean') {
    opts.showHidden = options;
    if (legacy[0] !== undefined) opts.depth = legacy[0];
  } else if (options && typeof options === 'object') {
    opts = { ...opts, ...options };
  }
  if (opts.depth === null) opts.depth = Infinity;
  const seen = [];
  seen.circular = new Map();
  return formatValue(value, opts, 0, seen);
}
inspect.custom = custom;
inspect.defaultOptions = DEFAULTS;
inspect.colors = {};
inspect.styles = {};

function hasOwnToString(value) {
  for (let proto = value; proto !== null && proto !== Object.prototype && proto !== Error.prototype; proto = Object.getPrototypeOf(proto)) {
    if (Object.prototype.hasOwnProperty.call(proto, 'toString')) return true;
  }
  return false;
}

function formatWithOptions(inspectOptions, ...args) {
  const first = args[0];
  let out = '';
  let next = 0;
  if (typeof first === 'string') {
    next = 1;
    let last = 0;
    for (let i = 0; i < first.length - 1; i += 1) {
      if (first.charCodeAt(i) !== 37) continue; // '%'
      const code = first[i + 1];
      if (code === '%') {
        out += first.slice(last, i) + '%';
        last = i + 2;
        i += 1;
        continue;
      }
      if (!'sdifjoOc'.includes(code)) continue;
      if (next >= args.length) continue;
      const arg = args[next];
      let piece;
      switch (code) {
        case 's':
          if (typeof arg === 'bigint') piece = `${arg}n`;
          else if (typeof arg === 'symbol') piece = arg.toString();
          else if (arg !== null && typeof arg === 'object' && !hasOwnToString(arg)) {
            piece = inspect(arg, { ...inspectOptions, depth: 0 });
          } else piece = String(arg);
          break;
        case 'd':
          piece = typeof arg === 'bigint' ? `${arg}n` : typeof arg === 'symbol' ? 'NaN' : formatPrimitive(Number(arg), DEFAULTS, false);
          break;
        case 'i':
          piece = typeof arg === 'bigint' ? `${arg}n` : typeof arg === 'symbol' ? 'NaN' : String(parseInt(arg, 10));
          break;
        case 'f':
          piece = typeof arg === 'symbol' ? 'NaN' : String(parseFloat(arg));
          break;
        case 'j':
          try {
            piece = JSON.stringify(arg);
          } catch (e) {
            piece = '[Circular]';
          }
          break;
        case 'o':
          piece = inspect(arg, { ...inspectOptions, showHidden: true, depth: 4 });
          break;
        case 'O':
          piece = inspect(arg, inspectOptions);
          break;
        default: // %c: CSS, dropped
          piece = '';
      }
      out += first.slice(last, i) + piece;
      last = i + 2;
      i += 1;
      next += 1;
    }
    out += first.slice(last);
  }
  for (; next < args.length; next += 1) {
    const arg = args[next];
    if (out.length > 0 || next > 0) out += ' ';
    out += typeof arg === 'string' ? arg : inspect(arg, inspectOptions);
  }
  return out;
}

function format(...args) {
  return formatWithOptions(undefined, ...args);
}

// util.isDeepStrictEqual / assert.deepStrictEqual's rule (`strict`), or
// assert.deepEqual's looser one.
function deepEqual(a, b, strict, memo = []) {
  if (strict ? Object.is(a, b) : a == b || (a !== a && b !== b)) return true; // eslint-disable-line eqeqeq
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    return false;
  }
  if (strict && Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (tag(a) !== tag(b)) return false;
  for (const [x, y] of memo) if (x === a && y === b) return true;
  memo.push([a, b]);
  if (a instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof RegExp) return String(a) === String(b) && a.lastIndex === b.lastIndex;
  if (a instanceof Error && (a.message !== b.message || a.name !== b.name)) return false;
  if (ArrayBuffer.isView(a)) {
    if (a.byteLength !== b.byteLength) return false;
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < x.length; i += 1) if (x[i] !== y[i]) return false;
  }
  if (a instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !deepEqual(v, b.get(k), strict, memo)) return false;
  }
  if (a instanceof Set) {
    if (a.size !== b.size) return false;
    for (const v of a) {
      if (!b.has(v) && !Array.from(b).some((w) => deepEqual(v, w, strict, memo))) return false;
    }
  }
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  for (const k of keysA) {
    if (!Object.prototype.hasOwnProperty.call(b, k) || !deepEqual(a[k], b[k], strict, memo)) return false;
  }
  if (strict) {
    const symbolsA = Object.getOwnPropertySymbols(a).filter((s) => Object.prototype.propertyIsEnumerable.call(a, s));
    const symbolsB = Object.getOwnPropertySymbols(b).filter((s) => Object.prototype.propertyIsEnumerable.call(b, s));
    if (symbolsA.length !== symbolsB.length) return false;
    for (const s of symbolsA) if (!deepEqual(a[s], b[s], strict, memo)) return false;
  }
  return true;
}

// The global structuredClone: data only, cycles kept; functions and symbols refused.
function structuredClone(value, memo = new Map()) {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')) return value;
  if (typeof value === 'function' || typeof value === 'symbol') {
    const error = new Error(`${typeof value === 'function' ? 'function' : 'symbol'} could not be cloned.`);
    error.name = 'DataCloneError';
    throw error;
  }
  if (memo.has(value)) return memo.get(value);
  let copy;
  if (value instanceof Date) copy = new Date(value.getTime());
  else if (value instanceof RegExp) copy = new RegExp(value.source, value.flags);
  else if (value instanceof ArrayBuffer) copy = value.slice(0);
  else if (ArrayBuffer.isView(value)) {
    const Kind = value instanceof DataView ? DataView : Object.getPrototypeOf(Object.getPrototypeOf(value)) === Uint8Array.prototype ? Uint8Array : value.constructor;
    copy = new Kind(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  } else if (value instanceof Map) {
    copy = new Map();
    memo.set(value, copy);
    for (const [k, v] of value) copy.set(structuredClone(k, memo), structuredClone(v, memo));
    return copy;
  } else if (value instanceof Set) {
    copy = new Set();
    memo.set(value, copy);
    for (const v of value) copy.add(structuredClone(v, memo));
    return copy;
  } else if (value instanceof Error) {
    copy = new Error(value.message);
    copy.name = value.name;
    copy.stack = value.stack;
  } else {
    copy = Array.isArray(value) ? [] : {};
    memo.set(value, copy);
    for (const k of Object.keys(value)) copy[k] = structuredClone(value[k], memo);
    return copy;
  }
  memo.set(value, copy);
  return copy;
}

module.exports = { inspect, format, formatWithOptions, deepEqual, structuredClone, tag };
