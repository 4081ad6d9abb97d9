// `net`: no sockets (handlers reach the network through http, https and fetch only),
// but its pure helpers, which HTTP clients call: isIP, isIPv4, isIPv6.
'use strict';
const { natives } = internal;
const unavailable = require('internal/unavailable');

const IPV4 = /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/;

const isIPv4 = (input) => IPV4.test(String(input));
function isIPv6(input) {
  const text = String(input);
  if (!text.includes(':') || /[^0-9a-fA-F:.%]/.test(text.split('%')[0])) return false;
  return Boolean(natives.urlParse(`http://[${text.split('%')[0]}]/`));
}
const isIP = (input) => (isIPv4(input) ? 4 : isIPv6(input) ? 6 : 0);

module.exports = unavailable('net', 'handlers reach the network through http, https and fetch only, which go through the platform', {
  isIP,
  isIPv4,
  isIPv6,
});
