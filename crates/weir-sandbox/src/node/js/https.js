// `https`: as `http`, for https: URLs. TLS is the platform's outbound client's.
'use strict';
module.exports = require('internal/http_client').httpModule('https:', 443);
