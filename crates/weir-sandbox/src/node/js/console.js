// `console`: the global console, and a Console class that writes to given streams.
'use strict';
const { formatWithOptions } = require('internal/inspect');

function Console(stdout, stderr) {
  if (!(this instanceof Console)) return new Console(stdout, stderr);
  const options = stdout && typeof stdout.write !== 'function' ? stdout : { stdout, stderr };
  const out = options.stdout;
  const err = options.stderr || out;
  const writer = (stream) => (...args) => stream.write(`${formatWithOptions({}, ...args)}\n`);
  this.log = writer(out);
  this.info = this.log;
  this.debug = this.log;
  this.warn = writer(err);
  this.error = this.warn;
  this.trace = this.warn;
  this.dir = (value) => out.write(`${formatWithOptions({}, value)}\n`);
}

module.exports = globalThis.console;
module.exports.Console = Console;
