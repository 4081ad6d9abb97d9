// `tls`: no sockets of its own (the platform's outbound client speaks TLS), but the
// constants packages read at their top.
'use strict';
const unavailable = require('internal/unavailable');

module.exports = unavailable('tls', 'handlers reach the network through http, https and fetch only, which go through the platform', {
  DEFAULT_MIN_VERSION: 'TLSv1.2',
  DEFAULT_MAX_VERSION: 'TLSv1.3',
  DEFAULT_ECDH_CURVE: 'auto',
  DEFAULT_CIPHERS: '',
  rootCertificates: Object.freeze([]),
  getCiphers: () => [],
  checkServerIdentity: () => undefined,
});
