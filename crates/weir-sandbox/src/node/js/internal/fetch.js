// The global `fetch`, with Headers, Request, Response and FormData. Each request (each
// hop of a redirect, which `fetch` follows here so that every hop meets the platform's
// checks) is one platform call, `node.fetch`, answered by Weir's outbound client. A
// gzip or deflate body is decoded, as Node's fetch does.
'use strict';
const { natives, call } = internal;
const { ReadableStream } = require('internal/web_streams');
const { Blob, File } = require('internal/blob');
const { DOMException } = require('internal/abort');

const MAX_REDIRECTS = 20;

// --- Headers.
const FORBIDDEN_VALUE = /[\0\r\n]/;
function normalizeValue(value) {
  return String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
}
function checkName(name) {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) throw new TypeError(`Header name must be a valid HTTP token ["${name}"]`);
}

class Headers {
  constructor(init = undefined) {
    this._list = [];
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      this._list = init._list.map(([n, v]) => [n, v]);
    } else if (typeof init[Symbol.iterator] === 'function') {
      for (const pair of init) {
        const items = Array.from(pair);
        if (items.length !== 2) throw new TypeError('Header pairs must be [name, value]');
        this.append(items[0], items[1]);
      }
    } else if (typeof init === 'object') {
      for (const name of Object.keys(init)) this.append(name, init[name]);
    } else {
      throw new TypeError('Headers must be an object, an array of pairs or Headers');
    }
  }
  append(name, value) {
    name = String(name);
    checkName(name);
    value = normalizeValue(value);
    if (FORBIDDEN_VALUE.test(value)) throw new TypeError(`Invalid header value for ${name}`);
    this._list.push([name.toLowerCase(), value]);
  }
  delete(name) {
    const key = String(name).toLowerCase();
    this._list = this._list.filter(([n]) => n !== key);
  }
  get(name) {
    const key = String(name).toLowerCase();
    const values = this._list.filter(([n]) => n === key).map(([, v]) => v);
    return values.length ? values.join(', ') : null;
  }
  getSetCookie() {
    return this._list.filter(([n]) => n === 'set-cookie').map(([, v]) => v);
  }
  has(name) {
    const key = String(name).toLowerCase();
    return this._list.some(([n]) => n === key);
  }
  set(name, value) {
    name = String(name);
    checkName(name);
    const key = name.toLowerCase();
    value = normalizeValue(value);
    const at = this._list.findIndex(([n]) => n === key);
    this._list = this._list.filter(([n], i) => n !== key || i === at);
    if (at === -1) this._list.push([key, value]);
    else this._list[this._list.findIndex(([n]) => n === key)][1] = value;
  }
  // Sorted and combined, as the standard iterates them (set-cookie kept apart).
  *entries() {
    const names = [...new Set(this._list.map(([n]) => n))].sort();
    for (const name of names) {
      if (name === 'set-cookie') for (const value of this.getSetCookie()) yield [name, value];
      else yield [name, this.get(name)];
    }
  }
  *keys() { for (const [name] of this.entries()) yield name; }
  *values() { for (const [, value] of this.entries()) yield value; }
  forEach(callback, thisArg = undefined) {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }
  [Symbol.iterator]() { return this.entries(); }
  get [Symbol.toStringTag]() { return 'Headers'; }
}

// --- FormData, sent as multipart/form-data.
class FormData {
  constructor(form) {
    if (form !== undefined) throw new TypeError('FormData from a form element is not offered');
    this._entries = [];
  }
  _entry(name, value, filename) {
    if (value instanceof Blob) {
      const named = filename !== undefined ? filename : value instanceof File ? value.name : 'blob';
      return [String(name), value instanceof File && filename === undefined ? value : new File([value], named, { type: value.type })];
    }
    return [String(name), String(value)];
  }
  append(name, value, filename) { this._entries.push(this._entry(name, value, filename)); }
  set(name, value, filename) {
    const entry = this._entry(name, value, filename);
    const at = this._entries.findIndex(([n]) => n === entry[0]);
    this._entries = this._entries.filter(([n], i) => n !== entry[0] || i === at);
    if (at === -1) this._entries.push(entry);
    else this._entries[this._entries.findIndex(([n]) => n === entry[0])] = entry;
  }
  get(name) {
    const found = this._entries.find(([n]) => n === String(name));
    return found ? found[1] : null;
  }
  getAll(name) { return this._entries.filter(([n]) => n === String(name)).map(([, v]) => v); }
  has(name) { return this._entries.some(([n]) => n === String(name)); }
  delete(name) { this._entries = this._entries.filter(([n]) => n !== String(name)); }
  *entries() { yield* this._entries.slice(); }
  *keys() { for (const [n] of this._entries.slice()) yield n; }
  *values() { for (const [, v] of this._entries.slice()) yield v; }
  forEach(callback, thisArg = undefined) { for (const [n, v] of this._entries.slice()) callback.call(thisArg, v, n, this); }
  [Symbol.iterator]() { return this.entries(); }
  get [Symbol.toStringTag]() { return 'FormData'; }
}

function multipart(form) {
  const boundary = `----WeirFormBoundary${natives.hexEncode(natives.randomBytes(12))}`;
  const parts = [];
  const escape = (text) => text.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22');
  for (const [name, value] of form._entries) {
    if (typeof value === 'string') {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${escape(name)}"\r\n\r\n${value}\r\n`));
    } else {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${escape(name)}"; filename="${escape(value.name)}"\r\nContent-Type: ${value.type || 'application/octet-stream'}\r\n\r\n`));
      parts.push(value._bytes);
      parts.push(Buffer.from('\r\n'));
    }
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { bytes: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}

// --- Bodies: bytes in memory (a stream given as a body is read whole first).
async function bodyOf(init) {
  if (init === undefined || init === null) return { bytes: null, type: null };
  if (typeof init === 'string') return { bytes: Buffer.from(init), type: 'text/plain;charset=UTF-8' };
  if (init instanceof URLSearchParams) {
    return { bytes: Buffer.from(init.toString()), type: 'application/x-www-form-urlencoded;charset=UTF-8' };
  }
  if (init instanceof Blob) return { bytes: Buffer.from(init._bytes), type: init.type || null };
  if (init instanceof FormData) {
    const { bytes, type } = multipart(init);
    return { bytes, type };
  }
  if (init instanceof ArrayBuffer) return { bytes: Buffer.from(new Uint8Array(init)), type: null };
  if (ArrayBuffer.isView(init)) return { bytes: Buffer.from(new Uint8Array(init.buffer, init.byteOffset, init.byteLength)), type: null };
  if (init instanceof ReadableStream || (init && typeof init[Symbol.asyncIterator] === 'function')) {
    const chunks = [];
    for await (const chunk of init) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
    return { bytes: Buffer.concat(chunks), type: null };
  }
  return { bytes: Buffer.from(String(init)), type: 'text/plain;charset=UTF-8' };
}

class Body {
  _initBody(bytes) {
    this._bytes = bytes;
    this._used = false;
    this._stream = null;
  }
  get body() {
    if (this._bytes === null) return null;
    if (!this._stream) {
      const bytes = this._bytes;
      this._stream = new ReadableStream({
        start: (controller) => {
          this._used = true;
          if (bytes.length) controller.enqueue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
          controller.close();
        },
      });
    }
    return this._stream;
  }
  get bodyUsed() { return this._used; }
  async _consume() {
    if (this._used) throw new TypeError('Body is unusable: Body has already been read');
    this._used = true;
    return this._bytes === null ? Buffer.alloc(0) : this._bytes;
  }
  async arrayBuffer() {
    const bytes = await this._consume();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  }
  async bytes() { return new Uint8Array(await this.arrayBuffer()); }
  async text() { return natives.utf8Decode(await this._consume()); }
  async json() { return JSON.parse(await this.text()); }
  async blob() {
    const bytes = await this._consume();
    return new Blob([bytes], { type: (this.headers && this.headers.get('content-type')) || '' });
  }
  async formData() {
    const type = (this.headers && this.headers.get('content-type')) || '';
    if (type.startsWith('application/x-www-form-urlencoded')) {
      const form = new FormData();
      for (const [name, value] of new URLSearchParams(await this.text())) form.append(name, value);
      return form;
    }
    throw new TypeError('Reading a multipart body as FormData is not offered in the Weir sandbox');
  }
}

class Request extends Body {
  constructor(input, init = {}) {
    super();
    const base = input instanceof Request ? input : null;
    this.url = base ? base.url : new URL(String(input)).href;
    this.method = String((init && init.method) || (base ? base.method : 'GET')).toUpperCase();
    this.headers = new Headers(init && init.headers !== undefined ? init.headers : base ? base.headers : undefined);
    this.redirect = (init && init.redirect) || (base ? base.redirect : 'follow');
    this.signal = (init && init.signal) || (base ? base.signal : null);
    this.credentials = (init && init.credentials) || 'same-origin';
    this.cache = (init && init.cache) || 'default';
    this.mode = (init && init.mode) || 'cors';
    this.referrer = 'about:client';
    this.keepalive = Boolean(init && init.keepalive);
    this.duplex = init && init.duplex;
    this._bodyInit = init && init.body !== undefined ? init.body : base ? base._bodyInit : null;
    if (this._bodyInit !== null && this._bodyInit !== undefined && (this.method === 'GET' || this.method === 'HEAD')) {
      throw new TypeError('Request with GET/HEAD method cannot have body.');
    }
    this._initBody(null);
  }
  clone() { return new Request(this); }
  get [Symbol.toStringTag]() { return 'Request'; }
}

class Response extends Body {
  constructor(body = null, init = {}) {
    super();
    this.status = init && init.status !== undefined ? Number(init.status) : 200;
    if (this.status < 200 || this.status > 599) throw new RangeError(`init["status"] must be in the range of 200 to 599, inclusive.`);
    this.statusText = init && init.statusText !== undefined ? String(init.statusText) : '';
    this.headers = new Headers(init && init.headers);
    this.type = 'default';
    this.url = '';
    this.redirected = false;
    let bytes = null;
    if (body !== null && body !== undefined) {
      if (typeof body === 'string') bytes = Buffer.from(body);
      else if (body instanceof ArrayBuffer) bytes = Buffer.from(new Uint8Array(body));
      else if (ArrayBuffer.isView(body)) bytes = Buffer.from(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
      else if (body instanceof Blob) bytes = Buffer.from(body._bytes);
      else if (body instanceof URLSearchParams) bytes = Buffer.from(body.toString());
      else bytes = Buffer.from(String(body));
      if (!this.headers.has('content-type') && typeof body === 'string') this.headers.set('content-type', 'text/plain;charset=UTF-8');
    }
    this._initBody(bytes);
  }
  get ok() { return this.status >= 200 && this.status < 300; }
  clone() {
    if (this._used) throw new TypeError('Response.clone: Body has already been consumed.');
    const copy = new Response(null, { status: this.status, statusText: this.statusText, headers: this.headers });
    copy._bytes = this._bytes;
    copy.url = this.url;
    copy.redirected = this.redirected;
    copy.type = this.type;
    return copy;
  }
  static json(data, init = {}) {
    const response = new Response(JSON.stringify(data), init);
    response.headers.set('content-type', 'application/json');
    return response;
  }
  static error() {
    const response = new Response(null, { status: 200 });
    response.status = 0;
    response.type = 'error';
    return response;
  }
  static redirect(url, status = 302) {
    const response = new Response(null, { status, headers: { location: new URL(url).href } });
    return response;
  }
  get [Symbol.toStringTag]() { return 'Response'; }
}

function abortReason(signal) {
  return signal.reason !== undefined ? signal.reason : new DOMException('This operation was aborted', 'AbortError');
}

function decoded(bytes, encoding) {
  const zlib = require('zlib');
  const kinds = String(encoding || '').toLowerCase().split(',').map((s) => s.trim()).filter(Boolean).reverse();
  let out = bytes;
  for (const kind of kinds) {
    if (kind === 'gzip' || kind === 'x-gzip') out = zlib.gunzipSync(out);
    else if (kind === 'deflate') out = zlib.unzipSync(out);
    else if (kind !== 'identity') return bytes;
  }
  return out;
}

async function fetch(input, init = undefined) {
  const request = new Request(input, init);
  const signal = request.signal;
  if (signal && signal.aborted) throw abortReason(signal);
  let { bytes, type } = await bodyOf(request._bodyInit);
  const headers = new Headers(request.headers);
  if (type && !headers.has('content-type')) headers.set('content-type', type);
  if (!headers.has('accept')) headers.set('accept', '*/*');
  if (!headers.has('accept-encoding')) headers.set('accept-encoding', 'gzip, deflate');
  let url = request.url;
  let method = request.method;
  for (let hop = 0; ; hop += 1) {
    const answer = await new Promise((resolve, reject) => {
      const sent = call('node.fetch', {
        method,
        url,
        headers: headers._list.map(([n, v]) => [n, v]),
        body: bytes && bytes.length ? natives.base64Encode(bytes) : null,
        timeout_ms: null,
      });
      sent.then(resolve, (reason) => {
        const cause = new Error(reason && reason.message ? reason.message : String(reason));
        if (reason && reason.code) cause.code = reason.code;
        reject(new TypeError('fetch failed', { cause }));
      });
      if (signal) signal.addEventListener('abort', () => reject(abortReason(signal)), { once: true });
    });
    const location = answer.headers.find(([n]) => n.toLowerCase() === 'location');
    if ([301, 302, 303, 307, 308].includes(answer.status) && location && request.redirect !== 'manual') {
      if (request.redirect === 'error') throw new TypeError('fetch failed', { cause: new Error('unexpected redirect') });
      if (hop + 1 > MAX_REDIRECTS) throw new TypeError('fetch failed', { cause: new Error('redirect count exceeded') });
      const next = new URL(location[1], url);
      if (answer.status === 303 || ((answer.status === 301 || answer.status === 302) && method === 'POST')) {
        if (method !== 'HEAD') method = 'GET';
        bytes = null;
        for (const name of ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']) headers.delete(name);
      }
      if (next.origin !== new URL(url).origin) {
        for (const name of ['authorization', 'cookie', 'proxy-authorization']) headers.delete(name);
      }
      url = next.href;
      continue;
    }
    let body = natives.base64Decode(answer.body || '');
    body = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const encoding = answer.headers.find(([n]) => n.toLowerCase() === 'content-encoding');
    if (encoding && method !== 'HEAD' && body.length) body = decoded(body, encoding[1]);
    const response = new Response(null, { status: answer.status < 200 ? 200 : answer.status, statusText: answer.statusText || '' });
    response.status = answer.status;
    for (const [name, value] of answer.headers) response.headers.append(name, value);
    response._bytes = [101, 204, 205, 304].includes(answer.status) || method === 'HEAD' ? null : body;
    response.url = url;
    response.redirected = hop > 0;
    response.type = 'basic';
    return response;
  }
}

module.exports = { fetch, Headers, Request, Response, FormData, File };
