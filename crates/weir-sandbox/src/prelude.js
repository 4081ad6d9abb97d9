// Weir's JavaScript prelude: runs in every fresh context before the app's code, and builds
// the platform globals (and a connector's `apiClient`) on top of a few functions the Rust
// side provides (`host`). It returns the control object the Rust side drives the
// invocation with. `resultBytes` limits the JSON of a result and of renderData's answer.
(function (host, resultBytes) {
  'use strict';
  const global = globalThis;

  // --- Limits: past one, the Rust side ends the invocation with the message, whatever
  // the handler does with the exception thrown here.
  function exceeded(message) {
    host.exceeded(message);
    return new RangeError(message);
  }
  // JSON.stringify(value), stopped as soon as it is known to be longer than `resultBytes`
  // characters (`what` names it in the error): a huge result must fail as too large, not
  // run the sandbox out of memory building its JSON. On the way, `size` counts strings
  // and object keys as they will be written (`"…"`, `"…":`) without escapes, never more
  // than the JSON will hold.
  function limitedJson(value, what) {
    const tooLarge = (size, atLeast) => exceeded(
      `${what} is too large: ${atLeast ? 'at least ' : ''}${size} characters of JSON, ` +
      `the limit is ${resultBytes}`);
    let size = 0;
    const json = JSON.stringify(value, function (key, item) {
      if (typeof item === 'string') size += item.length + 2;
      const written = item !== undefined && typeof item !== 'function' && typeof item !== 'symbol';
      if (written && key !== '' && !Array.isArray(this)) size += key.length + 3;
      if (size > resultBytes) throw tooLarge(size, true);
      return item;
    });
    if (json !== undefined && json.length > resultBytes) throw tooLarge(json.length, false);
    return json;
  }

  // --- Promises with jQuery-Deferred manners: done / fail / always, each chainable.
  const chainable = (name, attach) =>
    Object.defineProperty(Promise.prototype, name, {
      value: function (callback) {
        attach(this, callback);
        return this;
      },
      writable: true,
      configurable: true,
    });
  chainable('done', (promise, callback) => promise.then(callback, () => {}));
  chainable('fail', (promise, callback) => promise.then(undefined, callback));
  chainable('always', (promise, callback) => promise.then(callback, callback));

  // --- Calls into the platform: each is a promise settled by the Rust side.
  const pending = new Map();
  function call(name, args) {
    return new Promise((resolve, reject) => {
      const id = host.call(name, JSON.stringify(args === undefined ? null : args));
      pending.set(id, [resolve, reject]);
    });
  }

  // --- apiClient: a connector's authenticated client; the platform makes the request and
  // answers the response data. A failure rejects with an Error, so that `catch (e)` code
  // can read `e.message`, carrying the platform's other fields (`status`, …).
  function asError(reason) {
    if (typeof reason === 'string') return new Error(reason);
    if (reason !== null && typeof reason === 'object' && typeof reason.message === 'string') {
      return Object.assign(new Error(reason.message), reason);
    }
    return reason;
  }
  function apiCall(method, args) {
    return call(`apiClient.${method}`, args).then(undefined, (reason) => {
      throw asError(reason);
    });
  }
  function apiClient() {
    const client = {};
    for (const method of ['get', 'delete']) {
      client[method] = (path, query) => apiCall(method, { path, query });
    }
    for (const method of ['post', 'put', 'patch']) {
      client[method] = (path, data) => apiCall(method, { path, data });
    }
    return client;
  }

  // --- Timers (QuickJS has none): the Rust side says when one is due. As in Node, each
  // is an object (`Timeout`, `Immediate`) that `unref()` stops from keeping the
  // invocation waiting once its handler has settled; `clearTimeout` takes the object or
  // the number it converts to. An interval is one pending timer at a time.
  const armed = new Map();   // the Rust side's timer id → its timer
  const byNumber = new Map(); // a timer's number → its timer, while it is active
  class Timer {
    constructor(callback, ms, args, repeat) {
      this._onTimeout = callback;
      this._idleTimeout = ms;
      this._args = args;
      this._repeat = repeat;
      this._ref = true;
      this._id = 0;
      this._arm();
      this._number = this._id;
      byNumber.set(this._number, this);
    }
    _arm() {
      this._id = host.timer(this._idleTimeout);
      armed.set(this._id, this);
      if (!this._ref) host.unrefTimer(this._id, true);
    }
    _disarm() {
      if (armed.get(this._id) === this) {
        armed.delete(this._id);
        host.clearTimer(this._id);
      }
      this._id = 0;
    }
    ref() {
      this._ref = true;
      if (this._id) host.unrefTimer(this._id, false);
      return this;
    }
    unref() {
      this._ref = false;
      if (this._id) host.unrefTimer(this._id, true);
      return this;
    }
    hasRef() { return this._ref; }
    refresh() {
      if (this._id) {
        this._disarm();
        this._arm();
      }
      return this;
    }
    close() {
      this._disarm();
      byNumber.delete(this._number);
      return this;
    }
    [Symbol.toPrimitive]() { return this._number; }
  }
  class Timeout extends Timer {}
  class Immediate extends Timer {}
  function delay(ms) {
    const n = Number(ms);
    return n >= 1 && n <= 2147483647 ? n : 1;
  }
  function needsFunction(name, callback) {
    if (typeof callback !== 'function') {
      throw Object.assign(new TypeError(`${name} needs a function, got ${typeof callback}`),
                          { code: 'ERR_INVALID_ARG_TYPE' });
    }
  }
  function clear(timer) {
    if (timer instanceof Timer) timer.close();
    else if (timer !== null && timer !== undefined) {
      const found = byNumber.get(Number(timer));
      if (found) found.close();
    }
  }
  global.setTimeout = function setTimeout(callback, ms, ...args) {
    needsFunction('setTimeout', callback);
    return new Timeout(callback, delay(ms), args, false);
  };
  global.setInterval = function setInterval(callback, ms, ...args) {
    needsFunction('setInterval', callback);
    return new Timeout(callback, delay(ms), args, true);
  };
  global.setImmediate = function setImmediate(callback, ...args) {
    needsFunction('setImmediate', callback);
    return new Immediate(callback, 0, args, false);
  };
  global.clearTimeout = clear;
  global.clearInterval = clear;
  global.clearImmediate = clear;

  // --- console: captured into the invocation record.
  function show(value) {
    if (typeof value === 'string') return value;
    if (value instanceof Error) return value.stack ? `${value}\n${value.stack}` : String(value);
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
      return String(value);
    }
    try {
      return JSON.stringify(value);
    } catch (e) {
      return String(value);
    }
  }
  const log = (level) => (...values) => host.console(level, values.map(show).join(' '));
  global.console = { log: log('log'), info: log('info'), warn: log('warn'), error: log('error') };

  // --- renderData(error?, data?): its meaning is the Rust side's to decide.
  global.renderData = function (error, data) {
    host.render(limitedJson({ error: error === undefined ? null : error,
                              data: data === undefined ? null : data }, 'renderData\'s answer'));
  };

  // --- The platform globals: thin wrappers; the rules live on the Rust side.
  const db = {};
  for (const op of ['set', 'get', 'update', 'delete']) {
    db[op] = (...args) => call(`db.${op}`, args);
  }
  global.$db = db;
  const schedule = {};
  for (const op of ['create', 'update', 'delete', 'fetch']) {
    schedule[op] = (...args) => call(`schedule.${op}`, args);
  }
  global.$schedule = schedule;
  const request = { invokeTemplate: (...args) => call('request.invokeTemplate', args) };
  for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
    request[method] = (url, options) => call('request.url', { method, url, options });
  }
  global.$request = request;
  global.generateTargetUrl = (...args) => call('generateTargetUrl', args);
  global.$webhooks = { trigger: (...args) => call('webhooks.trigger', args) };
  global.global = global;

  // --- process: `process.env.ENV` as the FDK gives it, and what npm packages read of
  // Node's process. Nothing of the host's: no real environment, files, pid or exit.
  const started = performance.now();
  function notOffered(what) {
    return () => {
      throw new Error(`${what} is not available in the Weir sandbox: handlers cannot reach the host`);
    };
  }
  function hrtime(previous) {
    const now = performance.now();
    let seconds = Math.floor(now / 1000);
    let nanos = Math.floor((now % 1000) * 1e6);
    if (Array.isArray(previous)) {
      seconds -= previous[0];
      nanos -= previous[1];
      if (nanos < 0) {
        seconds -= 1;
        nanos += 1e9;
      }
    }
    return [seconds, nanos];
  }
  hrtime.bigint = () => BigInt(Math.floor(performance.now() * 1e6));
  const output = (level) => ({
    write(chunk, encoding, callback) {
      const text = typeof chunk === 'string' ? chunk : String(chunk);
      host.console(level, text.endsWith('\n') ? text.slice(0, -1) : text);
      const done = typeof encoding === 'function' ? encoding : callback;
      if (typeof done === 'function') queueMicrotask(done);
      return true;
    },
    isTTY: false,
    fd: level === 'log' ? 1 : 2,
    columns: 80,
    on() { return this; },
    once() { return this; },
    end() {},
  });
  const process = {
    env: { ENV: host.env() },
    title: 'weir',
    version: 'v18.20.4',
    versions: { node: '18.20.4', weir: '1' },
    release: { name: 'node' },
    platform: 'linux',
    arch: 'x64',
    argv: ['node', 'server.js'],
    argv0: 'node',
    execArgv: [],
    execPath: '/usr/local/bin/node',
    pid: 1,
    ppid: 0,
    exitCode: undefined,
    features: {},
    config: { variables: {} },
    browser: undefined,
    stdout: output('log'),
    stderr: output('error'),
    cwd: () => '/',
    chdir: notOffered('process.chdir'),
    umask: () => 0o22,
    uptime: () => (performance.now() - started) / 1000,
    hrtime,
    memoryUsage: () => ({ rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 }),
    cpuUsage: () => ({ user: 0, system: 0 }),
    nextTick(callback, ...args) {
      needsFunction('process.nextTick', callback);
      queueMicrotask(() => callback(...args));
    },
    emitWarning(warning) {
      host.console('warn', `Warning: ${warning instanceof Error ? warning.message : warning}`);
    },
    exit: notOffered('process.exit'),
    abort: notOffered('process.abort'),
    kill: notOffered('process.kill'),
    binding: notOffered('process.binding'),
    dlopen: notOffered('process.dlopen'),
    // Events of the process never happen here: listeners are accepted and never called.
    on() { return process; },
    once() { return process; },
    off() { return process; },
    addListener() { return process; },
    prependListener() { return process; },
    removeListener() { return process; },
    removeAllListeners() { return process; },
    setMaxListeners() { return process; },
    emit: () => false,
    listeners: () => [],
    listenerCount: () => 0,
    [Symbol.toStringTag]: 'process',
  };
  global.process = process;

  // --- Node's built-in modules (`node/built_ins.rs`): each runs once per invocation, on
  // first use, with `internal` (the natives and the platform call) that apps never see.
  const internal = Object.freeze({ natives: host.node, call, process, builtinNames: host.builtinNames });
  const builtIns = new Map();
  function builtIn(name) {
    const loaded = builtIns.get(name);
    if (loaded) return loaded.exports;
    const module = { exports: {} };
    builtIns.set(name, module);
    try {
      host.builtin(name)(module.exports, builtIn, module, internal);
    } catch (e) {
      builtIns.delete(name);
      throw e;
    }
    return module.exports;
  }
  // Node's globals, each made when first read (most handlers use none of them).
  function lazyGlobal(name, load) {
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
  const fromBuiltIn = (module, names) => {
    for (const name of names) lazyGlobal(name, () => builtIn(module)[name]);
  };
  fromBuiltIn('buffer', ['Buffer', 'Blob']);
  fromBuiltIn('url', ['URL', 'URLSearchParams']);
  fromBuiltIn('internal/text_coding', ['TextEncoder', 'TextDecoder']);
  fromBuiltIn('internal/abort', ['AbortController', 'AbortSignal', 'Event', 'EventTarget', 'DOMException']);
  fromBuiltIn('internal/blob', ['File']);
  fromBuiltIn('internal/fetch', ['fetch', 'Headers', 'Request', 'Response', 'FormData']);
  fromBuiltIn('internal/web_streams', ['ReadableStream', 'WritableStream', 'TransformStream']);
  lazyGlobal('crypto', () => builtIn('crypto').webcrypto);
  lazyGlobal('structuredClone', () => builtIn('internal/inspect').structuredClone);

  // --- require: local modules (Freshworks style), npm packages (CommonJS) and Node's
  // built-ins. A module that throws while loading is forgotten, as in Node.
  const modules = new Map();
  function resolved(from, name) {
    if (typeof name !== 'string') {
      throw Object.assign(new TypeError(`require needs a string, got ${typeof name}`),
                          { code: 'ERR_INVALID_ARG_TYPE' });
    }
    const found = JSON.parse(host.resolve(from, name));
    if (found.error) throw Object.assign(new Error(found.error), { code: 'MODULE_NOT_FOUND' });
    return found;
  }
  function requireFrom(from) {
    function require(name) {
      const found = resolved(from, name);
      if (found.kind === 'builtin') return builtIn(found.path);
      const cached = modules.get(found.path);
      if (cached) return cached.exports;
      if (found.kind === 'app') {
        const exports = host.load(found.path, found.kind)(requireFrom(found.path));
        modules.set(found.path, { exports });
        return exports;
      }
      const module = {
        id: found.path, filename: found.path, path: found.path.slice(0, found.path.lastIndexOf('/')),
        exports: {}, loaded: false, children: [], paths: [],
      };
      modules.set(found.path, module);
      try {
        if (found.kind === 'json') {
          module.exports = JSON.parse(host.source(found.path));
        } else {
          module.require = requireFrom(found.path);
          host.load(found.path, found.kind)(module.exports, module.require, module, found.path, module.path);
        }
      } catch (e) {
        modules.delete(found.path);
        if (found.kind === 'json' && e instanceof SyntaxError) e.message = `${found.path}: ${e.message}`;
        throw e;
      }
      module.loaded = true;
      return module.exports;
    }
    require.resolve = (name) => {
      const found = resolved(from, name);
      return found.kind === 'builtin' && name.startsWith('node:') ? name : found.path;
    };
    require.cache = Object.create(null);
    require.main = undefined;
    return require;
  }

  // The function named `name`; else (platform 2.0 apps) the callback that the
  // `exports.events` array `[{event, callback}]` gives for the event called `name`.
  function handlerIn(exports, name) {
    if (typeof exports[name] === 'function') return exports[name];
    const listed = Array.isArray(exports.events)
      ? exports.events.find((entry) => entry && entry.event === name)
      : undefined;
    if (!listed) return undefined;
    return typeof listed.callback === 'function' ? listed.callback : exports[listed.callback];
  }

  // --- The control object the Rust side drives the invocation with.
  function resultJson(value) {
    try {
      return limitedJson({ ok: true, value }, "the handler's result");
    } catch (e) {
      // Cycles and BigInts: the record keeps the result as JSON, so it must be one.
      if (e instanceof TypeError) {
        throw new TypeError(`the handler's result cannot be stored as JSON: ${e.message}`);
      }
      throw e;
    }
  }
  // An error's message and stack are kept in the record, but not at any length.
  const CLIP = 16 * 1024;
  function clip(text) {
    const s = String(text);
    return s.length <= CLIP ? s : `${s.slice(0, CLIP)}… (${s.length - CLIP} more characters)`;
  }
  let outcome;
  function finish(returned) {
    Promise.resolve(returned).then(
      (value) => { outcome = { ok: true, value: value === undefined ? null : value }; },
      (error) => { outcome = { ok: false, error }; },
    );
  }
  // The exports of the app file `path`: running it runs its top level.
  function loadApp(path) {
    const exports = host.load(path, 'app')(requireFrom(path));
    if (exports === null || typeof exports !== 'object') {
      throw new TypeError(`${path} must set exports to an object`);
    }
    return exports;
  }

  // The names at which `handlerIn` finds a function (inherited ones too, as it does, but
  // for Object.prototype's: no app means `toString` as a handler), and what
  // `exports.events` lists: null when absent, a string when it is no array.
  function exported(exports) {
    const functions = new Set();
    for (let o = exports; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
      for (const name of Object.getOwnPropertyNames(o)) {
        if (typeof exports[name] === 'function') functions.add(name);
      }
    }
    const listed = exports.events;
    let events = null;
    if (Array.isArray(listed)) {
      // Each entry: its event name (or null), and its callback: true for a function, the
      // name of one, or null.
      events = listed.map((entry) => {
        const { event, callback } = entry !== null && typeof entry === 'object' ? entry : {};
        return {
          event: typeof event === 'string' ? event : null,
          callback: typeof callback === 'function' || (typeof callback === 'string' ? callback : null),
        };
      });
    } else if (listed !== undefined) {
      const kind = typeof listed;
      events = listed === null ? 'null' : `${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind}`;
    }
    return { functions: [...functions], events };
  }

  return {
    invoke(path, handler, payloadJson) {
      const exports = loadApp(path);
      const fn = handlerIn(exports, handler);
      if (typeof fn !== 'function') {
        throw new TypeError(`${handler} is not a function exported by ${path}`);
      }
      // The payload is parsed here, so the handler always gets its own deep copy.
      finish(fn.call(exports, JSON.parse(payloadJson)));
    },
    // A connector method: `imported` is the promise of the module's namespace.
    invokeModule(path, imported, payloadJson) {
      const payload = JSON.parse(payloadJson) ?? {};
      if (typeof payload !== 'object' || Array.isArray(payload)) {
        throw new TypeError(`${path} is called with an object, not ${JSON.stringify(payload)}`);
      }
      finish(imported.then((namespace) => {
        const fn = namespace.default;
        if (typeof fn !== 'function') {
          throw new TypeError(`${path} has no default export function`);
        }
        return fn({ ...payload, apiClient: apiClient(), credentials: payload.credentials });
      }));
    },
    // What the app file `path` exports, as JSON, for the package check: runs its top
    // level and nothing else.
    exports(path) {
      return JSON.stringify(exported(loadApp(path)));
    },
    // undefined while the handler's promise is pending.
    outcome() {
      if (outcome === undefined) return undefined;
      if (outcome.ok) return resultJson(outcome.value);
      const error = outcome.error;
      const message = error instanceof Error ? `${error.name}: ${error.message}` : show(error);
      const stack = (error && typeof error.stack === 'string') ? error.stack : null;
      return JSON.stringify({ ok: false, message: clip(message), stack: stack && clip(stack) });
    },
    settle(id, ok, json) {
      const resolvers = pending.get(id);
      if (!resolvers) return;
      pending.delete(id);
      resolvers[ok ? 0 : 1](JSON.parse(json));
    },
    fire(id) {
      const timer = armed.get(id);
      if (!timer) return;
      armed.delete(id);
      if (timer._repeat) timer._arm();
      else byNumber.delete(timer._number);
      timer._onTimeout.apply(timer, timer._args);
    },
  };
});
