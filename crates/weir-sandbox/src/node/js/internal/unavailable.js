// A module the sandbox does not offer (`fs`, `child_process`, …): it loads, so that
// packages which merely require it at their top load too, and each of its functions
// throws when called, naming itself and why (`fs.readFileSync() is not available in the
// Weir sandbox: handlers cannot reach the host's files`). `offered` holds the members
// that are harmless and offered (`net.isIP`).
'use strict';
const errors = require('internal/errors');

// Names that must not look like functions: a module is not a promise, nor an ES module.
const ABSENT = new Set(['then', '__esModule', 'toJSON', 'inspect', 'default']);

function unavailable(name, why, offered = {}) {
  const members = new Map();
  const target = Object.assign(Object.create(null), offered);
  return new Proxy(target, {
    get(object, member) {
      if (typeof member === 'symbol' || ABSENT.has(member)) return object[member];
      if (member in object) return object[member];
      if (!members.has(member)) {
        let value;
        if (member === 'promises') value = unavailable(`${name}.promises`, why);
        else if (member === 'constants') value = Object.freeze({});
        else {
          value = function notAvailable() {
            throw errors.notAvailable(`${name}.${member}()`, why);
          };
        }
        members.set(member, value);
      }
      return members.get(member);
    },
    has(object, member) {
      return typeof member === 'string' && !ABSENT.has(member) ? true : member in object;
    },
  });
}

module.exports = unavailable;
