// `path/posix` (and `path/win32`, the same here): `path` itself.
'use strict';
module.exports = require('path');
