// `timers/promises`: timers as promises (and an async iterator for intervals).
'use strict';

function abortError(signal) {
  const error = new Error('The operation was aborted');
  error.name = 'AbortError';
  error.code = 'ABORT_ERR';
  error.cause = signal.reason;
  return error;
}

function later(schedule, cancel, value, options = {}) {
  const signal = options && options.signal;
  if (signal && signal.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const timer = schedule(() => resolve(value));
    if (options && options.ref === false) timer.unref();
    if (signal) {
      signal.addEventListener('abort', () => {
        cancel(timer);
        reject(abortError(signal));
      }, { once: true });
    }
  });
}

module.exports = {
  setTimeout: (ms, value, options) => later((done) => globalThis.setTimeout(done, ms), globalThis.clearTimeout, value, options),
  setImmediate: (value, options) => later((done) => globalThis.setImmediate(done), globalThis.clearImmediate, value, options),
  async *setInterval(ms, value, options = {}) {
    let pending = 0;
    let wake = null;
    const timer = globalThis.setInterval(() => {
      pending += 1;
      if (wake) wake();
    }, ms);
    if (options && options.ref === false) timer.unref();
    try {
      for (;;) {
        if (options && options.signal && options.signal.aborted) throw abortError(options.signal);
        if (pending === 0) await new Promise((resolve) => { wake = resolve; });
        wake = null;
        pending -= 1;
        yield value;
      }
    } finally {
      globalThis.clearInterval(timer);
    }
  },
  scheduler: {
    wait: (ms, options) => later((done) => globalThis.setTimeout(done, ms), globalThis.clearTimeout, undefined, options),
    yield: () => later((done) => globalThis.setImmediate(done), globalThis.clearImmediate, undefined),
  },
};
