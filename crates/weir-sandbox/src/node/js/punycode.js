// `punycode` (RFC 3492, Bootstring for IDNA): the deprecated built-in that older URL and
// e-mail packages still require.
'use strict';

const BASE = 36;
const T_MIN = 1;
const T_MAX = 26;
const SKEW = 38;
const DAMP = 700;
const INITIAL_BIAS = 72;
const INITIAL_N = 128;

function fail(kind) {
  throw new RangeError(kind === 'overflow' ? 'Overflow: input needs wider integers to process'
    : kind === 'not-basic' ? 'Illegal input >= 0x80 (not a basic code point)' : 'Invalid input');
}

function adapt(delta, points, first) {
  let d = first ? Math.floor(delta / DAMP) : delta >> 1;
  d += Math.floor(d / points);
  let k = 0;
  while (d > ((BASE - T_MIN) * T_MAX) >> 1) {
    d = Math.floor(d / (BASE - T_MIN));
    k += BASE;
  }
  return k + Math.floor(((BASE - T_MIN + 1) * d) / (d + SKEW));
}

const digitOf = (code) => (code >= 48 && code < 58 ? code - 22
  : code >= 65 && code < 91 ? code - 65
    : code >= 97 && code < 123 ? code - 97 : BASE);
const charOf = (digit) => String.fromCharCode(digit + 22 + 75 * (digit < 26));
const threshold = (k, bias) => (k <= bias ? T_MIN : k >= bias + T_MAX ? T_MAX : k - bias);

// UCS-2 string ⇄ code points.
function ucs2decode(text) {
  const points = [];
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if ((next & 0xfc00) === 0xdc00) {
        points.push(((unit & 0x3ff) << 10) + (next & 0x3ff) + 0x10000);
        i += 1;
        continue;
      }
    }
    points.push(unit);
  }
  return points;
}
const ucs2encode = (points) => String.fromCodePoint(...points);

function decode(input) {
  const output = [];
  let basic = input.lastIndexOf('-');
  if (basic < 0) basic = 0;
  for (let j = 0; j < basic; j += 1) {
    if (input.charCodeAt(j) >= 0x80) fail('not-basic');
    output.push(input.charCodeAt(j));
  }
  let n = INITIAL_N;
  let bias = INITIAL_BIAS;
  let i = 0;
  for (let index = basic > 0 ? basic + 1 : 0; index < input.length;) {
    const oldi = i;
    for (let w = 1, k = BASE; ; k += BASE) {
      if (index >= input.length) fail('invalid-input');
      const digit = digitOf(input.charCodeAt(index));
      index += 1;
      if (digit >= BASE || digit > Math.floor((0x7fffffff - i) / w)) fail('overflow');
      i += digit * w;
      const t = threshold(k, bias);
      if (digit < t) break;
      if (w > Math.floor(0x7fffffff / (BASE - t))) fail('overflow');
      w *= BASE - t;
    }
    const length = output.length + 1;
    bias = adapt(i - oldi, length, oldi === 0);
    if (Math.floor(i / length) > 0x7fffffff - n) fail('overflow');
    n += Math.floor(i / length);
    i %= length;
    output.splice(i, 0, n);
    i += 1;
  }
  return String.fromCodePoint(...output);
}

function encode(text) {
  const input = ucs2decode(text);
  let n = INITIAL_N;
  let delta = 0;
  let bias = INITIAL_BIAS;
  let output = '';
  for (const point of input) if (point < 0x80) output += String.fromCharCode(point);
  const basic = output.length;
  let handled = basic;
  if (basic) output += '-';
  while (handled < input.length) {
    let m = 0x7fffffff;
    for (const point of input) if (point >= n && point < m) m = point;
    if (m - n > Math.floor((0x7fffffff - delta) / (handled + 1))) fail('overflow');
    delta += (m - n) * (handled + 1);
    n = m;
    for (const point of input) {
      if (point < n) {
        delta += 1;
        if (delta > 0x7fffffff) fail('overflow');
      }
      if (point === n) {
        let q = delta;
        for (let k = BASE; ; k += BASE) {
          const t = threshold(k, bias);
          if (q < t) break;
          output += charOf(t + ((q - t) % (BASE - t)));
          q = Math.floor((q - t) / (BASE - t));
        }
        output += charOf(q);
        bias = adapt(delta, handled + 1, handled === basic);
        delta = 0;
        handled += 1;
      }
    }
    delta += 1;
    n += 1;
  }
  return output;
}

const mapLabels = (domain, fn) => {
  const at = domain.lastIndexOf('@');
  const local = at >= 0 ? domain.slice(0, at + 1) : '';
  const host = (at >= 0 ? domain.slice(at + 1) : domain).replace(/[\u3002\uFF0E\uFF61]/g, '.');
  return local + host.split('.').map(fn).join('.');
};

module.exports = {
  version: '2.1.0',
  ucs2: { decode: ucs2decode, encode: ucs2encode },
  decode,
  encode,
  toASCII: (domain) => mapLabels(domain, (label) => (/[^\0-\x7f]/.test(label) ? `xn--${encode(label)}` : label)),
  toUnicode: (domain) => mapLabels(domain, (label) => (/^xn--/i.test(label) ? decode(label.slice(4).toLowerCase()) : label)),
};
