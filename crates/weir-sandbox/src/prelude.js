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

  // --- Timers (QuickJS has none): node/js/internal/timers.js, made on first use.
  let timers;
  const timersModule = () => timers || (timers = builtIn('internal/timers'));
  global.setTimeout = function setTimeout(...args) { return timersModule().setTimeout(...args); };
  global.setInterval = function setInterval(...args) { return timersModule().setInterval(...args); };
  global.setImmediate = function setImmediate(...args) { return timersModule().setImmediate(...args); };
  const clear = function (timer) {
    if (timers) timers.clear(timer);
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

  // --- $db.entity: entity storage, the records of config/entities.json's custom objects.
  // `$db.entity({version: 'v1'}).get(name)` gives an entity's methods, as the Freshworks
  // docs write it; `$db.entity(name)` gives them at once, a Weir shorthand. Each call
  // names the entity first; which entities exist is the Rust side's to say.
  function entityMethods(name) {
    const op = (operation, ...args) => call(`entity.${operation}`, [name, ...args]);
    return {
      schema: () => op('schema'),
      create: (data) => op('create', data),
      get: (id) => op('get', id),
      update: (id, data) => op('update', id, data),
      delete: (id) => op('delete', id),
      getAll: (options) => op('getAll', options),
    };
  }
  db.entity = function (options) {
    if (typeof options === 'string') return entityMethods(options);
    if (options !== null && typeof options === 'object' && options.version === 'v1') {
      return { get: (name) => entityMethods(name) };
    }
    throw new TypeError('$db.entity takes {version: "v1"}, or the name of an entity');
  };

  // --- Node's built-in modules (`node/built_ins.rs`): each runs once per invocation, on
  // first use, with `internal` (the natives, the platform call and the host's functions),
  // which apps never see. The first one an invocation loads defines Node's globals
  // (node/js/internal/globals.js) first, as they may use them; so does an app whose code
  // names one (`nodeGlobals`).
  let natives;
  const internal = Object.freeze({
    get natives() { return natives || (natives = host.node('natives')); },
    call,
    host,
  });
  const builtIns = new Map();
  let globalsDefined = false;
  function defineGlobals() {
    globalsDefined = true;
    builtIn('internal/globals')(global);
  }
  function builtIn(name) {
    const loaded = builtIns.get(name);
    if (loaded) return loaded.exports;
    if (!globalsDefined && name !== 'internal/timers' && name !== 'internal/process') defineGlobals();
    const module = { exports: {} };
    builtIns.set(name, module);
    try {
      host.node('builtin', name)(module.exports, builtIn, module, internal);
    } catch (e) {
      builtIns.delete(name);
      throw e;
    }
    return module.exports;
  }
  if (host.nodeGlobals) defineGlobals();
  // `process`, made when first read.
  const defineProcess = (value) => Object.defineProperty(global, 'process', {
    value, writable: true, configurable: true, enumerable: false,
  });
  Object.defineProperty(global, 'process', {
    configurable: true,
    enumerable: false,
    get() { return defineProcess(builtIn('internal/process')).process; },
    set: defineProcess,
  });

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
          module.exports = JSON.parse(host.node('source', found.path));
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
      if (timers) timers.fire(id);
    },
  };
});
