// `stream/web`: the WHATWG streams of internal/web_streams.js.
'use strict';
module.exports = require('internal/web_streams');
