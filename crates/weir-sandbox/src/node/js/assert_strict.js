// `assert/strict`: assert in its strict mode.
'use strict';
module.exports = require('assert').strict;
