'use strict';
// Weir dev simulator (/web/test): pick an event, edit its payload, run it through
// POST /web/simulate and show the outcome, plus the recent runs of the dev installation.

const KINDS = [
  ['product', 'Product events'], ['lifecycle', 'Lifecycle'], ['external', 'External'],
  ['scheduled', 'Scheduled'], ['function', 'Functions'],
];

const state = {
  product: '', event: '', events: [], path: '', source: '', dirty: false,
  loadSeq: 0, running: false, polling: false, lastActivity: null, lastProblems: null,
};

const $ = (id) => document.getElementById(id);

// ---------- helpers ----------

// Builds an element; strings become text nodes, so server data is never parsed as HTML.
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) node.setAttribute(k, v);
  node.append(...children.filter((c) => c != null && c !== false).map((c) => (typeof c === 'object' ? c : String(c))));
  return node;
}

// Only touches the DOM when the text really changes, so live regions don't re-announce.
const setText = (node, text) => { if (node.textContent !== text) node.textContent = text; };

const muted = (text = 'none') => h('p', { class: 'muted' }, text);
const pretty = (value) => JSON.stringify(value, null, 2);
const cls = (s) => String(s ?? '').replace(/[^a-z0-9_-]/gi, '');
const fmtMs = (ms) => (ms == null ? '' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`);

async function api(method, url, body) {
  const init = { method, headers: { Accept: 'application/json' } };
  // Every write says JSON, even with no body: the server refuses others, so that a
  // page on another site cannot post here without a CORS preflight it would fail.
  if (method !== 'GET') init.headers['Content-Type'] = 'application/json';
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(url, init).catch(() => {
    throw new Error('Cannot reach the dev server. Is `weir dev` still running?');
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new Error(data?.error?.message || `${method} ${url} failed (HTTP ${res.status})`);
    err.status = res.status;
    throw err;
  }
  return data;
}

const withProduct = (url) => (state.product ? `${url}?product=${encodeURIComponent(state.product)}` : url);
const eventUrl = (prefix) => withProduct(`${prefix}${encodeURIComponent(state.event)}`);

// ---------- messages ----------

function showPayloadError(message) {
  setText($('payload-error'), message);
  if (message) $('payload').setAttribute('aria-invalid', 'true');
  else $('payload').removeAttribute('aria-invalid');
}
const showGeneralError = (message) => setText($('general-error'), message);
const notice = (message) => setText($('notice'), message);
// 4xx answers are about the request (event, payload): show them next to the payload.
const reportError = (err) => (err.status ? showPayloadError : showGeneralError)(err.message);

// ---------- app details ----------

async function loadApp() {
  const app = await api('GET', '/web/api/app');
  document.title = `${app.name} · Weir dev simulator`;
  setText($('app-name'), app.name);
  setText($('app-platform'), String(app.platform_version ?? '—'));
  setText($('app-target-url'), app.target_url || '—');
  const hooks = app.global_webhooks || [];
  $('app-webhooks-row').hidden = hooks.length === 0;
  $('app-webhooks').replaceChildren(...hooks.map((w) =>
    h('li', {}, h('span', { class: 'hook-key' }, w.key), ' ', h('code', { class: 'copyable' }, w.url))));
  // 3.x apps call their scopes modules.
  setText($('product-label'), String(app.platform_version).startsWith('3') ? 'Module' : 'Product');
  renderProblems(app.problems || []);
  fillProducts(app.products || []);
}

function renderProblems(problems) {
  const sig = JSON.stringify(problems);
  if (sig === state.lastProblems) return;
  state.lastProblems = sig;
  $('problems').hidden = problems.length === 0;
  $('problems-list').replaceChildren(...problems.map((p) => {
    const where = [p.file, p.location].filter(Boolean).join(':');
    return h('li', {}, where ? h('code', {}, where) : null, where ? ' — ' : '', p.message);
  }));
}

function fillProducts(products) {
  const select = $('product');
  select.replaceChildren(...products.map((p) => h('option', { value: p }, p)));
  $('product-field').hidden = products.length <= 1;
  state.product = products[0] || '';
}

// ---------- events and payloads ----------

async function loadEvents(preferred) {
  const data = await api('GET', withProduct('/web/eventsList'));
  state.events = data.events || [];
  const known = KINDS.map(([kind]) => kind);
  // Events of an unknown kind go under "Other" rather than disappearing.
  const groups = [...KINDS, ['', 'Other']].map(([kind, label]) => {
    const items = state.events.filter((e) => (kind ? e.kind === kind : !known.includes(e.kind)));
    return items.length ? h('optgroup', { label }, ...items.map((e) => h('option', { value: e.name }, e.name))) : null;
  });
  const select = $('event');
  select.replaceChildren(...groups.filter(Boolean));
  select.disabled = state.events.length === 0;
  if (!state.events.length) {
    state.event = '';
    select.append(h('option', { value: '' }, 'No events'));
    setText($('event-info'), 'This app handles no events for this product.');
    return;
  }
  const names = state.events.map((e) => e.name);
  select.value = names.includes(preferred) ? preferred : select.options[0].value;
  await selectEvent(select.value);
}

async function selectEvent(name) {
  state.event = name;
  const seq = ++state.loadSeq;
  const ev = state.events.find((e) => e.name === name);
  setText($('event-info'), ev?.handler ? `Handler: ${ev.handler}` : '');
  resetRunButton();
  [showPayloadError, showGeneralError, notice].forEach((clear) => clear(''));
  setText($('payload-source'), 'Loading the payload…');
  const data = await api('GET', eventUrl('/web/events/'));
  if (seq !== state.loadSeq) return; // the developer already picked another event
  setPayload(data.payload, data.source, data.path);
}

function setPayload(payload, source, path) {
  $('payload').value = pretty(payload);
  Object.assign(state, { source, path, dirty: false });
  showPayloadError('');
  renderSource();
}

function renderSource() {
  if (!state.event) return;
  const from = state.source === 'test_data' ? `From ${state.path}` : `Built-in default (Save writes ${state.path})`;
  setText($('payload-source'), state.dirty ? `${from} · edited, not saved` : from);
}

// ---------- JSON validation ----------

// Returns the parsed object, or null after showing why the text is not a JSON object.
function validatePayload(moveCaret) {
  const text = $('payload').value;
  let value, problem = null;
  try {
    value = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      problem = { message: `The payload must be a JSON object, not ${Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`}.` };
    }
  } catch (err) {
    problem = text.trim() ? describeJsonError(err, text) : { message: 'The payload is empty; enter a JSON object such as {}.' };
  }
  showPayloadError(problem ? problem.message : '');
  if (problem && moveCaret) {
    $('payload').focus();
    if (problem.pos != null) $('payload').setSelectionRange(problem.pos, problem.pos);
  }
  return problem ? null : value;
}

function describeJsonError(err, text) {
  const pos = jsonErrorOffset(text);
  const before = text.slice(0, pos).split('\n');
  // Engine messages differ (V8 may echo the whole text); keep only the reason.
  let reason = err.message
    .replace(/^JSON\.parse: /, '')
    .replace(/, .*is not valid JSON$/s, '')
    .replace(/ (in JSON )?at (position \d+|line \d+ column \d+).*$/s, '');
  // V8 names the character after a bad word (often a line break): name what we point at instead.
  if (/^Unexpected token/.test(reason)) {
    const word = /[^\s,:{}[\]"]+|./y;
    word.lastIndex = pos;
    reason = pos < text.length ? `Unexpected ${JSON.stringify(word.exec(text)[0])}` : 'Unexpected end of input';
  }
  return { message: `${reason} (line ${before.length}, column ${before[before.length - 1].length + 1})`, pos };
}

// Offset of the first syntax error: not every engine's message gives one.
function jsonErrorOffset(s) {
  let i = 0;
  const fail = () => { throw i; };
  const ws = () => { while (' \t\n\r'.includes(s[i]) && i < s.length) i++; };
  const expect = (c) => { if (s[i] !== c) fail(); i++; };
  const NUM = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
  function list(close, item) {
    i++; ws();
    if (s[i] === close) { i++; return; }
    for (;;) { item(); ws(); if (s[i] !== ',') break; i++; }
    expect(close);
  }
  function str() {
    expect('"');
    while (i < s.length && s[i] !== '"') {
      if (s[i] < ' ') fail();
      if (s[i] === '\\') {
        i++;
        if (s[i] === 'u' && /^[0-9a-f]{4}$/i.test(s.slice(i + 1, i + 5))) i += 4;
        else if (!'"\\/bfnrt'.includes(s[i] || 'x')) fail();
      }
      i++;
    }
    expect('"');
  }
  function value() {
    ws();
    const c = s[i];
    if (c === '{') return list('}', () => { ws(); str(); ws(); expect(':'); value(); });
    if (c === '[') return list(']', value);
    if (c === '"') return str();
    for (const word of ['true', 'false', 'null']) if (s.startsWith(word, i)) { i += word.length; return; }
    NUM.lastIndex = i;
    if (!NUM.test(s)) fail();
    i = NUM.lastIndex;
  }
  try { value(); ws(); return i; } catch (pos) { return typeof pos === 'number' ? pos : 0; }
}

// ---------- running ----------

function resetRunButton() {
  if (state.running) return;
  setText($('simulate'), 'Simulate');
  delete $('simulate').dataset.state;
}

function finishRunButton(ok) {
  setText($('simulate'), ok ? 'Success' : 'Failed');
  $('simulate').dataset.state = ok ? 'success' : 'failed';
}

async function simulate() {
  if (state.running || !state.event) return;
  const payload = validatePayload(true);
  if (!payload) return;
  const btn = $('simulate');
  const hadFocus = document.activeElement === btn;
  state.running = true;
  btn.disabled = true;
  setText(btn, 'Running…');
  delete btn.dataset.state;
  showGeneralError('');
  $('outcome').setAttribute('aria-busy', 'true');
  $('status').replaceChildren(h('p', {}, `Running ${state.event}…`));
  let ok = false;
  try {
    const result = await api('POST', '/web/simulate', { event: state.event, product: state.product || undefined, payload });
    renderOutcome(result);
    ok = Boolean(result.ok);
  } catch (err) {
    reportError(err);
    $('status').replaceChildren(h('p', { class: 'error-text' }, `Not run: ${err.message}`));
    // Nothing ran, so the previous run's details would only mislead.
    ['error', 'console', 'render', 'requests', 'db-changes'].forEach((id) => $(id).replaceChildren(muted()));
  } finally {
    state.running = false;
    btn.disabled = false;
    $('outcome').removeAttribute('aria-busy');
    finishRunButton(ok);
    // A disabled button drops focus in some browsers; give it back to keyboard users.
    if (hadFocus && (document.activeElement === document.body || document.activeElement === btn)) btn.focus();
    pollActivity();
  }
}

function renderOutcome(r) {
  $('status').replaceChildren(h('p', {},
    h('span', { class: `badge ${r.ok ? 'ok' : 'bad'}` }, r.status), ' ', fmtMs(r.duration_ms),
    r.handler ? ' · handler ' : null, r.handler ? h('code', {}, r.handler) : null));
  $('error').replaceChildren(...(r.error
    ? [h('p', { class: 'error-text' }, r.error),
      r.stack ? h('details', {}, h('summary', {}, 'Stack trace'), h('pre', {}, r.stack)) : null].filter(Boolean)
    : [muted()]));
  $('console').replaceChildren(...(r.console?.length ? r.console.map(consoleLine) : [muted()]));
  const shown = r.render ?? r.result;
  $('render').replaceChildren(...(shown == null ? [muted()] : [
    r.render == null ? h('p', { class: 'hint' }, 'Return value') : null,
    h('pre', { class: 'json' }, pretty(shown)),
  ].filter(Boolean)));
  $('requests').replaceChildren(r.requests?.length ? h('ul', { class: 'rows' }, ...r.requests.map(requestRow)) : muted());
  $('db-changes').replaceChildren(r.db_changes?.length ? h('ul', { class: 'rows' }, ...r.db_changes.map(dbRow)) : muted());
}

function consoleLine(c) {
  const level = cls(c.level) || 'log';
  return h('div', { class: `line ${level} level-${level}` }, h('span', { class: 'badge' }, level), h('span', { class: 'text' }, c.text));
}

function requestRow(q) {
  const result = q.error
    ? h('span', { class: 'error-text' }, q.error)
    : h('span', { class: `badge ${q.status >= 400 ? 'bad' : 'ok'}` }, q.status ?? '—');
  return h('li', {}, h('code', { class: 'call' }, q.call), ' ', h('span', { class: 'summary' }, q.summary),
    ' ', result, ' ', h('span', { class: 'muted' }, fmtMs(q.duration_ms)));
}

function dbRow(d) {
  return h('li', {}, h('span', { class: `badge op-${cls(d.op)}` }, d.op), ' ', h('code', {}, d.key),
    d.op === 'delete' ? null : h('pre', { class: 'json' }, pretty(d.value ?? null)));
}

// ---------- save / reset ----------

async function save() {
  if (!state.event || !validatePayload(true)) return;
  try {
    const r = await api('POST', eventUrl('/web/events/'), $('payload').value);
    Object.assign(state, { path: r.path, source: 'test_data', dirty: false });
    renderSource();
    notice(`Saved to ${r.path}`);
  } catch (err) { reportError(err); }
}

async function reset() {
  if (!state.event) return;
  try {
    const r = await api('POST', eventUrl('/web/events/reset/'));
    setPayload(r.payload, 'default', r.path);
    resetRunButton();
    notice('Reset to the built-in default');
  } catch (err) { reportError(err); }
}

// ---------- activity ----------

async function pollActivity() {
  if (document.hidden || state.polling) return;
  state.polling = true;
  try {
    const data = await api('GET', '/web/api/activity?limit=20');
    renderActivity(data.invocations || []);
    // The app may be edited into (or out of) an invalid state at any time.
    const app = await api('GET', '/web/api/app');
    renderProblems(app.problems || []);
    setText($('activity-state'), '');
  } catch (_) {
    setText($('activity-state'), 'Dev server unreachable; retrying…');
  } finally { state.polling = false; }
}

function renderActivity(list) {
  const sig = JSON.stringify(list);
  if (sig === state.lastActivity) return; // nothing new: leave the DOM alone
  state.lastActivity = sig;
  $('activity-empty').hidden = list.length > 0;
  $('activity-list').replaceChildren(...list.map(activityRow));
}

function activityRow(inv) {
  const first = inv.error || inv.console?.[0]?.text || '';
  const when = new Date(inv.started_at ?? NaN); // ISO string or epoch milliseconds
  const valid = !Number.isNaN(when.getTime());
  return h('li', { class: `run status-${cls(inv.status)}` },
    h('time', { datetime: valid ? when.toISOString() : null }, valid ? when.toLocaleTimeString() : inv.started_at),
    h('code', { class: 'event' }, inv.event),
    h('span', { class: `badge ${inv.status === 'success' ? 'ok' : 'bad'}` }, inv.status),
    h('span', { class: 'muted' }, fmtMs(inv.duration_ms)),
    h('span', { class: `detail${inv.error ? ' error-text' : ''}`, title: first || null }, first));
}

// ---------- wiring ----------

let validateTimer;
function onPayloadInput() {
  resetRunButton();
  notice('');
  state.dirty = true;
  renderSource();
  clearTimeout(validateTimer);
  validateTimer = setTimeout(() => validatePayload(false), 250);
}

function onPayloadKey(e) {
  const mod = e.ctrlKey || e.metaKey;
  if (mod && e.key === 'Enter') { e.preventDefault(); simulate(); }
  if (mod && (e.key || '').toLowerCase() === 's') { e.preventDefault(); save(); }
}

async function init() {
  $('payload').addEventListener('input', onPayloadInput);
  $('payload').addEventListener('keydown', onPayloadKey);
  $('simulate').addEventListener('click', simulate);
  $('save').addEventListener('click', save);
  $('reset').addEventListener('click', reset);
  $('event').addEventListener('change', (e) => selectEvent(e.target.value).catch(reportError));
  $('product').addEventListener('change', (e) => {
    state.product = e.target.value;
    loadEvents(state.event).catch(reportError);
  });
  document.addEventListener('visibilitychange', pollActivity);
  try {
    await loadApp();
    await loadEvents();
  } catch (err) {
    showGeneralError(`Could not load the app: ${err.message}`);
  }
  pollActivity();
  setInterval(pollActivity, 2000);
}

document.addEventListener('DOMContentLoaded', init);
