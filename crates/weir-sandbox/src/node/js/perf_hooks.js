// `perf_hooks`: the `performance` clock; observers never observe anything here.
'use strict';
const errors = require('internal/errors');

class PerformanceObserver {
  constructor(callback) { this._callback = callback; }
  observe() {}
  disconnect() {}
  static get supportedEntryTypes() { return []; }
}

module.exports = {
  performance: globalThis.performance,
  PerformanceObserver,
  constants: {},
  monitorEventLoopDelay() {
    throw errors.notAvailable('perf_hooks.monitorEventLoopDelay()', 'handlers cannot observe the engine');
  },
  createHistogram() {
    throw errors.notAvailable('perf_hooks.createHistogram()', 'handlers cannot observe the engine');
  },
};
