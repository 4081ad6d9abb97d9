// `timers`: the global timers (the prelude's), and `timers/promises` under `promises`.
'use strict';
module.exports = {
  setTimeout: globalThis.setTimeout,
  clearTimeout: globalThis.clearTimeout,
  setInterval: globalThis.setInterval,
  clearInterval: globalThis.clearInterval,
  setImmediate: globalThis.setImmediate,
  clearImmediate: globalThis.clearImmediate,
  get promises() { return require('timers/promises'); },
};
