'use strict';
// Helpers shared by the Weir dev pages. Loaded (as /web/assets/common.js) before
// simulator.js and custom_configs.js, which use these globals.
//
// The pages are served with `Content-Security-Policy: default-src 'self'`: no inline
// scripts, styles or event-handler attributes, no eval. Keep it that way here too.

const $ = (id) => document.getElementById(id);

// Only touches the DOM when the text really changes, so live regions don't re-announce.
const setText = (node, text) => { if (node.textContent !== text) node.textContent = text; };

// Builds an element; strings become text nodes, so server data is never parsed as HTML.
// An attribute whose value is null, undefined or false is left out; true gives "".
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    // The CSP blocks style attributes and inline handlers: use classes and addEventListener.
    if (k === 'style' || /^on/i.test(k)) throw new Error(`h(): ${k} attributes are not allowed`);
    node.setAttribute(k, v === true ? '' : v);
  }
  node.append(...children.filter((c) => c != null && c !== false).map((c) => (typeof c === 'object' ? c : String(c))));
  return node;
}

// Calls a JSON endpoint of the dev server. A string body is sent as it is (the payload
// exactly as typed); anything else is serialized. Resolves to the parsed answer (null
// when it is not JSON); rejects with an Error whose message is the server's, carrying
// `status` (HTTP status, absent when the server could not be reached) and `code`.
async function api(method, url, body) {
  const init = { method, headers: { Accept: 'application/json' } };
  // Every write says JSON, even with no body: the server refuses others, so that a
  // page on another site cannot post here without a CORS preflight it would fail.
  if (method !== 'GET') init.headers['Content-Type'] = 'application/json';
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(url, init).catch(() => {
    throw new Error('Cannot reach the dev server. Is `weir dev` still running?');
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new Error(data?.error?.message || `${method} ${url} failed (HTTP ${res.status})`);
    err.status = res.status;
    err.code = data?.error?.code;
    throw err;
  }
  return data;
}
