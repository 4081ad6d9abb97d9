// `http`: requests through the platform (see internal/http_client.js); no servers.
'use strict';
module.exports = require('internal/http_client').httpModule('http:', 80);
