// `os`: fixed answers, never the host's (its name, users, network or load are not the
// app's business): enough for packages that put the platform in a User-Agent.
'use strict';
const errors = require('internal/errors');

module.exports = {
  EOL: '\n',
  devNull: '/dev/null',
  constants: { signals: {}, errno: {}, priority: {}, dlopen: {} },
  arch: () => 'x64',
  machine: () => 'x86_64',
  platform: () => 'linux',
  type: () => 'Linux',
  release: () => '6.0.0-weir',
  version: () => '#1 SMP',
  hostname: () => 'weir-sandbox',
  homedir: () => '/',
  tmpdir: () => '/tmp',
  endianness: () => 'LE',
  uptime: () => process.uptime(),
  loadavg: () => [0, 0, 0],
  totalmem: () => 0,
  freemem: () => 0,
  availableParallelism: () => 1,
  cpus: () => [],
  networkInterfaces: () => ({}),
  userInfo: () => ({ uid: -1, gid: -1, username: 'weir', homedir: '/', shell: null }),
  getPriority: () => 0,
  setPriority() {
    throw errors.notAvailable('os.setPriority()', 'handlers cannot reach the host');
  },
};
