// `tty`: no terminal: nothing is a TTY (so `debug` and colour libraries print plainly).
'use strict';
const unavailable = require('internal/unavailable');

module.exports = unavailable('tty', "handlers have no terminal; console output goes to the invocation's record", {
  isatty: () => false,
});
