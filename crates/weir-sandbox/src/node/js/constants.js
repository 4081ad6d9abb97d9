// `constants` (deprecated): the crypto and os constants packages may read from it.
'use strict';
module.exports = { ...require('crypto').constants, ...require('os').constants.errno };
