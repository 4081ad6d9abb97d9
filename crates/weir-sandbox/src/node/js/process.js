// `process`: the global process object (see the prelude).
'use strict';
module.exports = require('internal/process');
