// `diagnostics_channel`: named channels within the invocation (undici and tracing
// libraries publish to them; nothing outside the handler subscribes).
'use strict';

const channels = new Map();

class Channel {
  constructor(name) {
    this.name = name;
    this._subscribers = [];
  }
  get hasSubscribers() { return this._subscribers.length > 0; }
  subscribe(fn) { this._subscribers.push(fn); }
  unsubscribe(fn) {
    const at = this._subscribers.indexOf(fn);
    if (at === -1) return false;
    this._subscribers.splice(at, 1);
    return true;
  }
  publish(message) {
    for (const fn of this._subscribers.slice()) fn(message, this.name);
  }
  bindStore() {}
  unbindStore() {}
  runStores(data, fn, thisArg, ...args) { return fn.apply(thisArg, args); }
}

function channel(name) {
  if (!channels.has(name)) channels.set(name, new Channel(name));
  return channels.get(name);
}

function tracingChannel(name) {
  const of = (kind) => (typeof name === 'string' ? channel(`tracing:${name}:${kind}`) : name[kind]);
  const tracing = {
    start: of('start'), end: of('end'), asyncStart: of('asyncStart'), asyncEnd: of('asyncEnd'), error: of('error'),
    get hasSubscribers() {
      return ['start', 'end', 'asyncStart', 'asyncEnd', 'error'].some((k) => tracing[k].hasSubscribers);
    },
    subscribe(handlers) { for (const k of Object.keys(handlers)) tracing[k].subscribe(handlers[k]); },
    unsubscribe(handlers) { for (const k of Object.keys(handlers)) tracing[k].unsubscribe(handlers[k]); },
    traceSync(fn, context = {}, thisArg, ...args) {
      tracing.start.publish(context);
      try {
        const result = fn.apply(thisArg, args);
        context.result = result;
        return result;
      } catch (error) {
        context.error = error;
        tracing.error.publish(context);
        throw error;
      } finally {
        tracing.end.publish(context);
      }
    },
    tracePromise(fn, context = {}, thisArg, ...args) {
      tracing.start.publish(context);
      return Promise.resolve(fn.apply(thisArg, args)).then((result) => {
        context.result = result;
        tracing.asyncEnd.publish(context);
        return result;
      }, (error) => {
        context.error = error;
        tracing.error.publish(context);
        throw error;
      });
    },
    traceCallback(fn, position, context, thisArg, ...args) { return fn.apply(thisArg, args); },
  };
  return tracing;
}

module.exports = {
  channel,
  hasSubscribers: (name) => channels.has(name) && channels.get(name).hasSubscribers,
  subscribe: (name, fn) => channel(name).subscribe(fn),
  unsubscribe: (name, fn) => channel(name).unsubscribe(fn),
  tracingChannel,
  Channel,
};
