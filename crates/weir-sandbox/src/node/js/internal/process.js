// The global `process`, made when first read: `process.env.ENV` as the FDK gives it, and
// what npm packages read of Node's process. Nothing of the host's: no real environment,
// files, pid or exit.
'use strict';
const { host } = internal;

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

// stdout and stderr write to the invocation's console, a line per write.
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
    if (typeof callback !== 'function') {
      throw Object.assign(new TypeError(`process.nextTick needs a function, got ${typeof callback}`),
                          { code: 'ERR_INVALID_ARG_TYPE' });
    }
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

module.exports = process;
