// What `http` and `https` share: ClientRequest, IncomingMessage, Agent. A request is
// collected whole (it is a Writable, so bodies can be piped in) and, when it ends, goes
// out as one platform call (`node.http`): the engine sends it through Weir's outbound
// client (SSRF guard, host overrides, timeouts) and answers the whole response, which
// arrives here as an IncomingMessage (a Readable) on `response`. A refused or failed
// call is an `error` with Node's shape (`code`, `message`).
'use strict';
const { natives, call } = internal;
const EventEmitter = require('events');
const { Readable, Writable } = require('stream');
const errors = require('internal/errors');

const STATUS_CODES = {
  100: 'Continue', 101: 'Switching Protocols', 102: 'Processing', 103: 'Early Hints',
  200: 'OK', 201: 'Created', 202: 'Accepted', 203: 'Non-Authoritative Information', 204: 'No Content',
  205: 'Reset Content', 206: 'Partial Content', 207: 'Multi-Status', 208: 'Already Reported', 226: 'IM Used',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified',
  305: 'Use Proxy', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 406: 'Not Acceptable', 407: 'Proxy Authentication Required', 408: 'Request Timeout',
  409: 'Conflict', 410: 'Gone', 411: 'Length Required', 412: 'Precondition Failed', 413: 'Payload Too Large',
  414: 'URI Too Long', 415: 'Unsupported Media Type', 416: 'Range Not Satisfiable', 417: 'Expectation Failed',
  418: "I'm a Teapot", 421: 'Misdirected Request', 422: 'Unprocessable Entity', 423: 'Locked',
  424: 'Failed Dependency', 425: 'Too Early', 426: 'Upgrade Required', 428: 'Precondition Required',
  429: 'Too Many Requests', 431: 'Request Header Fields Too Large', 451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout', 505: 'HTTP Version Not Supported', 506: 'Variant Also Negotiates',
  507: 'Insufficient Storage', 508: 'Loop Detected', 509: 'Bandwidth Limit Exceeded', 510: 'Not Extended',
  511: 'Network Authentication Required',
};
const METHODS = ['ACL', 'BIND', 'CHECKOUT', 'CONNECT', 'COPY', 'DELETE', 'GET', 'HEAD', 'LINK', 'LOCK',
  'M-SEARCH', 'MERGE', 'MKACTIVITY', 'MKCALENDAR', 'MKCOL', 'MOVE', 'NOTIFY', 'OPTIONS', 'PATCH', 'POST',
  'PROPFIND', 'PROPPATCH', 'PURGE', 'PUT', 'QUERY', 'REBIND', 'REPORT', 'SEARCH', 'SOURCE', 'SUBSCRIBE',
  'TRACE', 'UNBIND', 'UNLINK', 'UNLOCK', 'UNSUBSCRIBE'];
const TOKEN = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

function validateHeaderName(name) {
  if (typeof name !== 'string' || !name || !TOKEN.test(name)) {
    throw errors.coded(TypeError, 'ERR_INVALID_HTTP_TOKEN', `Header name must be a valid HTTP token ["${name}"]`);
  }
}
function validateHeaderValue(name, value) {
  if (value === undefined) {
    throw errors.coded(TypeError, 'ERR_HTTP_INVALID_HEADER_VALUE', `Invalid value "${value}" for header "${name}"`);
  }
  if (INVALID_VALUE.test(String(value))) {
    throw errors.coded(TypeError, 'ERR_INVALID_CHAR', `Invalid character in header content ["${name}"]`);
  }
}

// --- Agents: kept for the API (packages make and pass them); connections are the
// platform's, so an agent changes nothing.
function Agent(options) {
  if (!(this instanceof Agent)) return new Agent(options);
  EventEmitter.call(this);
  this.options = { path: null, ...options };
  this.keepAlive = Boolean(options && options.keepAlive);
  this.keepAliveMsecs = (options && options.keepAliveMsecs) || 1000;
  this.maxSockets = (options && options.maxSockets) || Infinity;
  this.maxFreeSockets = (options && options.maxFreeSockets) || 256;
  this.maxTotalSockets = (options && options.maxTotalSockets) || Infinity;
  this.sockets = Object.create(null);
  this.freeSockets = Object.create(null);
  this.requests = Object.create(null);
  this.defaultPort = 80;
  this.protocol = 'http:';
}
Object.setPrototypeOf(Agent.prototype, EventEmitter.prototype);
Object.setPrototypeOf(Agent, EventEmitter);
Agent.prototype.destroy = function destroy() {};
Agent.prototype.getName = function getName(options = {}) {
  return `${options.host || 'localhost'}:${options.port || ''}:${options.localAddress || ''}`;
};
Agent.prototype.createConnection = function createConnection() {
  throw errors.notAvailable('Agent.createConnection()', 'connections are made by the platform');
};
Agent.prototype.keepSocketAlive = function keepSocketAlive() { return false; };
Agent.prototype.reuseSocket = function reuseSocket() {};

// --- The socket a request reports: nothing to connect, but the calls packages make on
// it (timeouts, keep-alive) are accepted.
function FakeSocket(request, encrypted) {
  EventEmitter.call(this);
  this._request = request;
  this.encrypted = encrypted;
  this.authorized = encrypted;
  this.connecting = false;
  this.destroyed = false;
  this.readable = true;
  this.writable = true;
  this.remoteAddress = undefined;
  this.remotePort = undefined;
  this.remoteFamily = undefined;
  this.localAddress = undefined;
  this.localPort = undefined;
  this.bytesRead = 0;
  this.bytesWritten = 0;
  this._timer = null;
}
Object.setPrototypeOf(FakeSocket.prototype, EventEmitter.prototype);
FakeSocket.prototype.setTimeout = function setTimeout(ms, callback) {
  if (typeof callback === 'function') this.once('timeout', callback);
  this._request._armTimeout(ms);
  return this;
};
FakeSocket.prototype.setNoDelay = function setNoDelay() { return this; };
FakeSocket.prototype.setKeepAlive = function setKeepAlive() { return this; };
FakeSocket.prototype.ref = function ref() { return this; };
FakeSocket.prototype.unref = function unref() { return this; };
FakeSocket.prototype.address = function address() { return {}; };
FakeSocket.prototype.getPeerCertificate = function getPeerCertificate() { return {}; };
FakeSocket.prototype.getProtocol = function getProtocol() { return this.encrypted ? 'TLSv1.3' : null; };
FakeSocket.prototype.destroy = function destroy(error) {
  if (!this.destroyed) {
    this.destroyed = true;
    this._request.destroy(error);
  }
  return this;
};
FakeSocket.prototype.end = function end() { return this; };
FakeSocket.prototype.write = function write() { return true; };
FakeSocket.prototype.pause = function pause() { return this; };
FakeSocket.prototype.resume = function resume() { return this; };

// --- IncomingMessage: the response, whole, as a Readable.
function IncomingMessage(request, answer) {
  Readable.call(this);
  this.req = request;
  this.socket = request ? request.socket : null;
  this.connection = this.socket;
  this.httpVersion = '1.1';
  this.httpVersionMajor = 1;
  this.httpVersionMinor = 1;
  this.complete = false;
  this.aborted = false;
  this.upgrade = false;
  this.url = '';
  this.method = null;
  this.trailers = {};
  this.rawTrailers = [];
  this.statusCode = answer ? answer.status : null;
  this.statusMessage = answer ? (answer.statusText || STATUS_CODES[answer.status] || '') : null;
  this.rawHeaders = [];
  this.headers = {};
  this.headersDistinct = {};
  for (const [name, value] of answer ? answer.headers : []) {
    this.rawHeaders.push(name, value);
    const key = name.toLowerCase();
    (this.headersDistinct[key] || (this.headersDistinct[key] = [])).push(value);
    if (key === 'set-cookie') (this.headers[key] || (this.headers[key] = [])).push(value);
    else if (this.headers[key] === undefined) this.headers[key] = value;
    else if (!['content-type', 'content-length', 'user-agent', 'referer', 'host', 'authorization',
      'proxy-authorization', 'if-modified-since', 'if-unmodified-since', 'from', 'location',
      'max-forwards', 'retry-after', 'etag', 'last-modified', 'server', 'age', 'expires'].includes(key)) {
      this.headers[key] += `, ${value}`;
    }
  }
  if (answer) {
    const body = natives.base64Decode(answer.body || '');
    if (body.length) this.push(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    this.push(null);
    this.once('end', () => { this.complete = true; });
  }
}
Object.setPrototypeOf(IncomingMessage.prototype, Readable.prototype);
Object.setPrototypeOf(IncomingMessage, Readable);
IncomingMessage.prototype._read = function _read() {};
IncomingMessage.prototype.setTimeout = function setTimeout(ms, callback) {
  if (typeof callback === 'function') this.once('timeout', callback);
  return this;
};

// --- ClientRequest.
function headerList(headers) {
  const list = [];
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) list.push([String(headers[i]), headers[i + 1]]);
  } else if (headers) {
    for (const name of Object.keys(headers)) list.push([name, headers[name]]);
  }
  return list;
}

function ClientRequest(options, callback, defaults) {
  Writable.call(this, { autoDestroy: false, emitClose: false, decodeStrings: true });
  const protocol = options.protocol || defaults.protocol;
  if (protocol !== defaults.protocol) {
    throw errors.coded(TypeError, 'ERR_INVALID_PROTOCOL', `Protocol "${protocol}" not supported. Expected "${defaults.protocol}"`);
  }
  if (options.socketPath) throw errors.notAvailable('Requests over a Unix socket', 'connections are made by the platform');
  const method = String(options.method || 'GET').toUpperCase();
  if (!TOKEN.test(method)) throw errors.coded(TypeError, 'ERR_INVALID_HTTP_TOKEN', `Method must be a valid HTTP token ["${method}"]`);
  const path = options.path === undefined || options.path === null ? '/' : String(options.path);
  if (/[\u0000-\u0020]/.test(path)) throw errors.coded(TypeError, 'ERR_UNESCAPED_CHARACTERS', 'Request path contains unescaped characters');
  let host = options.hostname || options.host || 'localhost';
  if (typeof host === 'string' && host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = options.port ? Number(options.port) : defaults.port;
  this.method = method;
  this.path = path;
  this.host = host;
  this.protocol = protocol;
  this.agent = options.agent === false ? undefined : (options.agent || defaults.agent);
  this.aborted = false;
  this.reusedSocket = false;
  this.maxHeadersCount = null;
  this.res = null;
  this._headers = new Map(); // lower-case name → [name as given, value]
  this._chunks = [];
  this._sent = false;
  this._timeoutMs = 0;
  this._timer = null;
  this._done = false;
  this._encrypted = protocol === 'https:';
  this.socket = new FakeSocket(this, this._encrypted);
  this.connection = this.socket;
  for (const [name, value] of headerList(options.headers)) this.setHeader(name, value);
  if (options.auth && !this.hasHeader('authorization')) {
    this.setHeader('Authorization', `Basic ${Buffer.from(String(options.auth)).toString('base64')}`);
  }
  const needsBrackets = host.includes(':');
  const shownHost = needsBrackets ? `[${host}]` : host;
  this._url = `${protocol}//${shownHost}${port && port !== defaults.port ? `:${port}` : ''}${path.startsWith('/') ? path : `/${path}`}`;
  if (typeof callback === 'function') this.once('response', callback);
  if (options.timeout) this.setTimeout(options.timeout);
  if (options.signal) {
    const signal = options.signal;
    const onAbort = () => this.destroy(Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' }));
    if (signal.aborted) process.nextTick(onAbort);
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  process.nextTick(() => {
    if (!this._done) this.emit('socket', this.socket);
  });
}
Object.setPrototypeOf(ClientRequest.prototype, Writable.prototype);
Object.setPrototypeOf(ClientRequest, Writable);

const proto = ClientRequest.prototype;
proto.setHeader = function setHeader(name, value) {
  if (this._sent) throw errors.coded(Error, 'ERR_HTTP_HEADERS_SENT', 'Cannot set headers after they are sent to the client');
  validateHeaderName(name);
  validateHeaderValue(name, value);
  this._headers.set(name.toLowerCase(), [name, value]);
  return this;
};
proto.getHeader = function getHeader(name) {
  const found = this._headers.get(String(name).toLowerCase());
  return found ? found[1] : undefined;
};
proto.hasHeader = function hasHeader(name) { return this._headers.has(String(name).toLowerCase()); };
proto.removeHeader = function removeHeader(name) {
  if (this._sent) throw errors.coded(Error, 'ERR_HTTP_HEADERS_SENT', 'Cannot remove headers after they are sent to the client');
  this._headers.delete(String(name).toLowerCase());
};
proto.getHeaders = function getHeaders() {
  const out = Object.create(null);
  for (const [key, [, value]] of this._headers) out[key] = value;
  return out;
};
proto.getHeaderNames = function getHeaderNames() { return Array.from(this._headers.keys()); };
proto.getRawHeaderNames = function getRawHeaderNames() { return Array.from(this._headers.values(), ([name]) => name); };
proto.flushHeaders = function flushHeaders() {};
proto.setNoDelay = function setNoDelay() {};
proto.setSocketKeepAlive = function setSocketKeepAlive() {};
Object.defineProperty(proto, 'headersSent', { get() { return this._sent; } });
Object.defineProperty(proto, 'finished', { get() { return this.writableEnded; } });

// A request's idle timeout: `timeout` is emitted if no answer has come by then. It does
// not end the request (as in Node): the handler that listens does, usually.
proto.setTimeout = function setTimeout(ms, callback) {
  if (typeof callback === 'function') this.once('timeout', callback);
  this._armTimeout(ms);
  return this;
};
proto._armTimeout = function _armTimeout(ms) {
  if (this._timer) clearTimeout(this._timer);
  this._timer = null;
  this._timeoutMs = Number(ms) || 0;
  if (this._timeoutMs > 0 && !this._done) {
    this._timer = setTimeout(() => {
      this._timer = null;
      if (this._done) return;
      this.emit('timeout');
      this.socket.emit('timeout');
    }, this._timeoutMs);
    this._timer.unref();
  }
};
proto._clearTimeout = function _clearTimeout() {
  if (this._timer) clearTimeout(this._timer);
  this._timer = null;
};

proto._write = function _write(chunk, encoding, callback) {
  this._chunks.push(chunk);
  callback();
};

proto._final = function _final(callback) {
  this._send();
  callback();
};

proto._send = function _send() {
  if (this._sent || this._done) return;
  this._sent = true;
  const body = this._chunks.length ? Buffer.concat(this._chunks) : null;
  this._chunks = [];
  const headers = [];
  for (const [, [name, value]] of this._headers) {
    if (Array.isArray(value)) for (const item of value) headers.push([name, String(item)]);
    else headers.push([name, String(value)]);
  }
  const request = {
    method: this.method,
    url: this._url,
    headers,
    body: body && body.length ? natives.base64Encode(body) : null,
    timeout_ms: this._timeoutMs || null,
  };
  call('node.http', request).then(
    (answer) => this._answered(answer),
    (reason) => this._failed(reason),
  );
};

proto._answered = function _answered(answer) {
  if (this._done) return;
  this._clearTimeout();
  const response = new IncomingMessage(this, answer);
  this.res = response;
  response.once('end', () => {
    this._done = true;
    process.nextTick(() => this.emit('close'));
  });
  if (!this.emit('response', response)) response.resume();
};

// The platform's refusal or failure, as the error Node would give.
function requestError(reason, request) {
  const message = reason && typeof reason.message === 'string' ? reason.message : String(reason);
  const error = new Error(message);
  if (reason && reason.code) error.code = reason.code;
  error.syscall = reason && reason.code === 'ETIMEDOUT' ? 'read' : 'connect';
  error.hostname = request.host;
  return error;
}

proto._failed = function _failed(reason) {
  if (this._done) return;
  this.destroy(requestError(reason, this));
};

proto.abort = function abort() {
  if (this.aborted) return;
  this.aborted = true;
  process.nextTick(() => this.emit('abort'));
  this.destroy();
};

proto.destroy = function destroy(error) {
  if (this._done) return this;
  this._done = true;
  this._clearTimeout();
  this._writableState.destroyed = true;
  if (this.res && !this.res.complete) this.res.destroy(error);
  process.nextTick(() => {
    if (error) this.emit('error', error);
    this.emit('close');
  });
  return this;
};
Object.defineProperty(proto, 'destroyed', {
  get() { return this._done && this._writableState.destroyed; },
  set() {},
});

// `request(url, options?, callback?)` or `request(options, callback?)`, as Node reads them.
function requestFor(defaults) {
  return function request(input, options, callback) {
    let merged = {};
    if (typeof input === 'string' || (input && typeof input.href === 'string' && typeof input.searchParams === 'object')) {
      const url = typeof input === 'string' ? new URL(input) : input;
      merged = require('url').urlToHttpOptions(url);
    } else if (input && typeof input === 'object') {
      callback = options;
      options = input;
    }
    if (typeof options === 'function') {
      callback = options;
      options = undefined;
    }
    if (options && typeof options === 'object') merged = { ...merged, ...options };
    return new ClientRequest(merged, callback, defaults);
  };
}

function httpModule(protocol, port) {
  const globalAgent = new Agent();
  globalAgent.defaultPort = port;
  globalAgent.protocol = protocol;
  const defaults = { protocol, port, agent: globalAgent };
  const request = requestFor(defaults);
  function get(input, options, callback) {
    const req = request(input, options, callback);
    req.end();
    return req;
  }
  const notServing = () => {
    throw errors.notAvailable('createServer()', 'handlers cannot listen on ports; they receive events from the platform');
  };
  function ModuleAgent(options) {
    if (!(this instanceof ModuleAgent)) return new ModuleAgent(options);
    Agent.call(this, options);
    this.defaultPort = port;
    this.protocol = protocol;
  }
  Object.setPrototypeOf(ModuleAgent.prototype, Agent.prototype);
  Object.setPrototypeOf(ModuleAgent, Agent);
  return {
    METHODS,
    STATUS_CODES,
    Agent: ModuleAgent,
    globalAgent,
    ClientRequest,
    IncomingMessage,
    OutgoingMessage: Writable,
    Server: notServing,
    ServerResponse: notServing,
    createServer: notServing,
    request,
    get,
    validateHeaderName,
    validateHeaderValue,
    maxHeaderSize: 16384,
    setMaxIdleHTTPParsers() {},
  };
}

module.exports = { httpModule, STATUS_CODES, METHODS, Agent, ClientRequest, IncomingMessage, requestError };
