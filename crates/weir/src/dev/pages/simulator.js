'use strict';
// Weir dev simulator (/web/test): pick an event, edit its payload, run it through
// POST /web/simulate and show the outcome, plus the recent runs of the dev installation.
// Uses $, h, setText and api from common.js (loaded first).

const KINDS = [
  ['product', 'Product events'], ['lifecycle', 'Lifecycle'], ['external', 'External'],
  ['scheduled', 'Scheduled'], ['function', 'Functions'], ['extension', 'Extension webhooks'],
];

// What a lifecycle handler's refusal would do outside the simulator.
const REFUSAL_MEANS = {
  onAppInstall: 'An install would fail with this message.',
  onAppUninstall: 'An uninstall would be refused with this message (unless forced).',
  afterAppUpdate: 'An update would be reverted, with this message.',
};

// The Simulate button after a run: its text and data-state, by outcome.
const RUN_BUTTON = {
  success: ['Success', 'success'], failed: ['Failed', 'failed'],
  refused: ['Refused', 'refused'], filtered: ['Filtered out', 'filtered'],
};

const state = {
  product: '', event: '', events: [], path: '', source: '',
  // loaded: the textarea holds the selected event's payload (Simulate, Save, Reset work);
  // dirty: it was edited since it was loaded or saved.
  loaded: false, dirty: false, retry: null, refused: false,
  loadSeq: 0, running: false, polling: false, lastActivity: null, lastProblems: null,
};
let validateTimer; // checks the JSON a moment after the last key

// ---------- helpers ----------

const muted = (text = 'none') => h('p', { class: 'muted' }, text);
const pretty = (value) => JSON.stringify(value, null, 2);
const cls = (s) => String(s ?? '').replace(/[^a-z0-9_-]/gi, '');
const fmtMs = (ms) => (ms == null ? '' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`);

const withProduct = (url) => (state.product ? `${url}?product=${encodeURIComponent(state.product)}` : url);
const eventUrl = (prefix) => withProduct(`${prefix}${encodeURIComponent(state.event)}`);

// ---------- messages ----------

// #payload-error is a polite live region: it follows the text as it is typed.
function showPayloadError(message, invalid = Boolean(message)) {
  setText($('payload-error'), message);
  if (invalid) $('payload').setAttribute('aria-invalid', 'true');
  else $('payload').removeAttribute('aria-invalid');
}

// #general-error is role=alert (assertive): only for things said once, not as one types.
let alertTimer;
function showGeneralError(message) {
  clearTimeout(alertTimer);
  state.refused = false;
  setText($('general-error'), message);
}

// Says, once and assertively, why Simulate/Save/Reset did nothing.
function announceRefusal(message) {
  clearTimeout(alertTimer);
  state.refused = true;
  const node = $('general-error');
  if (node.textContent !== message) { node.textContent = message; return; }
  // The same words again would not be read out: empty the region, then refill it.
  node.textContent = '';
  alertTimer = setTimeout(() => { node.textContent = message; }, 100);
}

// A refusal is stale once the payload is edited.
function clearRefusal() { if (state.refused) showGeneralError(''); }

const notice = (message) => setText($('notice'), message);

// `action` is what did not happen ("Not saved"). 4xx answers are about the request
// (event, payload): they are shown next to the payload too.
function reportError(action, err) {
  if (err.status >= 400 && err.status < 500) showPayloadError(err.message);
  announceRefusal(`${action}: ${err.message}`);
}

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
  const oauth = app.oauth || [];
  $('app-oauth-row').hidden = oauth.length === 0;
  $('app-oauth').replaceChildren(...oauth.map((o) => o.error
    ? h('li', {}, o.error)
    : h('li', {},
      h('a', { href: o.authorize_url }, o.integration ? `Authorize ${o.integration}` : 'Authorize'),
      ' ', o.authorized ? `authorized${o.expires_at ? `, expires ${o.expires_at}` : ''}` : 'not authorized')));
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
  const seq = ++state.loadSeq; // a payload still loading for the previous product is dropped
  const select = $('event');
  select.disabled = true;
  payloadUnavailable('', null);
  setText($('payload-source'), 'Loading the events…');
  let data;
  try {
    data = await api('GET', withProduct('/web/eventsList'));
  } catch (err) {
    if (seq !== state.loadSeq) return;
    state.events = [];
    state.event = '';
    select.replaceChildren(h('option', { value: '' }, 'No events'));
    select.disabled = true;
    setText($('event-info'), '');
    payloadUnavailable(`Could not load the events: ${err.message}`, () => loadEvents(preferred));
    return;
  }
  if (seq !== state.loadSeq) return;
  state.events = data.events || [];
  const known = KINDS.map(([kind]) => kind);
  // Events of an unknown kind go under "Other" rather than disappearing.
  const groups = [...KINDS, ['', 'Other']].map(([kind, label]) => {
    const items = state.events.filter((e) => (kind ? e.kind === kind : !known.includes(e.kind)));
    return items.length ? h('optgroup', { label }, ...items.map((e) => h('option', { value: e.name }, e.name))) : null;
  });
  select.replaceChildren(...groups.filter(Boolean));
  select.disabled = state.events.length === 0;
  if (!state.events.length) {
    state.event = '';
    select.append(h('option', { value: '' }, 'No events'));
    setText($('event-info'), 'This app handles no events for this product.');
    payloadUnavailable('', null);
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
  setText($('event-info'), eventInfo(ev));
  resetRunButton();
  showGeneralError('');
  notice('');
  // Until the answer comes, the textarea must not offer the previous event's payload.
  payloadUnavailable('', null);
  setText($('payload-source'), 'Loading the payload…');
  let data;
  try {
    data = await api('GET', eventUrl('/web/events/'));
  } catch (err) {
    if (seq === state.loadSeq) {
      payloadUnavailable(`Could not load the payload of ${name}: ${err.message}`, () => selectEvent(name));
    }
    return;
  }
  if (seq !== state.loadSeq) return; // the developer already picked another event
  setPayload(data);
}

// A Zoho Desk event runs no handler: it goes to the app's extension webhooks.
function eventInfo(ev) {
  if (!ev?.handler) return '';
  if (ev.kind === 'extension') return `Goes to the extension webhook ${ev.handler}: Simulate shows the body its URL would receive, without sending it.`;
  return `Handler: ${ev.handler}`;
}

// Simulate, Save and Reset only act on a payload loaded for the selected event.
function setLoaded(loaded) {
  state.loaded = loaded;
  $('payload').readOnly = !loaded;
  $('simulate').disabled = !loaded || state.running;
  $('save').disabled = !loaded;
  $('reset').disabled = !loaded;
}

// Nothing usable: empty the textarea so that nothing can run or save a stale payload.
// `retry` (shown as "Load again") repeats the load that failed.
function payloadUnavailable(message, retry) {
  clearTimeout(validateTimer);
  $('payload').value = '';
  Object.assign(state, { source: '', path: '', dirty: false, retry });
  setLoaded(false);
  showPayloadError(message, false);
  setText($('payload-source'), '');
  $('reload-payload').hidden = !retry;
}

// From GET /web/events/{event} or the reset: {payload, source, path}; or, when the
// test_data file is not JSON, {payload: null, text, problem}: its text goes in the
// textarea with the problem next to it, so it can be fixed in place and saved.
function setPayload(data) {
  clearTimeout(validateTimer);
  const raw = data.payload == null && typeof data.text === 'string';
  $('payload').value = raw ? data.text : pretty(data.payload);
  Object.assign(state, { source: data.source, path: data.path, dirty: false, retry: null });
  setLoaded(true);
  $('reload-payload').hidden = true;
  showPayloadError(raw ? data.problem || `${data.path} is not JSON.` : '');
  renderSource();
}

// Asks before edits that were not saved are thrown away; true when it may go on.
function confirmDiscard() {
  if (!state.dirty) return true;
  if (!window.confirm(`Discard your edits to ${state.event}?`)) return false;
  state.dirty = false;
  return true;
}

function renderSource() {
  if (!state.event) return;
  const from = state.source === 'test_data' ? `From ${state.path}` : `Built-in default (Save writes ${state.path})`;
  setText($('payload-source'), state.dirty ? `${from} · edited, not saved` : from);
}

// ---------- JSON validation ----------

// Returns the parsed object, or null after showing (politely) why the text is not a JSON object.
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

function finishRunButton(outcome) {
  const [text, name] = RUN_BUTTON[outcome] || RUN_BUTTON.failed;
  setText($('simulate'), text);
  $('simulate').dataset.state = name;
}

// One word for the run: a handler's that succeeded but said no is refused; a Zoho event
// that no webhook's filter lets through is filtered out.
function outcomeOf(r) {
  if (r.ok) return 'success';
  if (r.kind === 'extension') return 'filtered';
  return r.refused && r.status === 'success' ? 'refused' : 'failed';
}

// The parsed payload for `action`, or null after saying once, assertively, why not.
function payloadFor(action) {
  const payload = validatePayload(true);
  if (!payload) announceRefusal(`${action}: the payload has an error. ${$('payload-error').textContent}`);
  return payload;
}

async function simulate() {
  if (state.running || !state.event || !state.loaded) return;
  const payload = payloadFor('Not simulated');
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
  let outcome = 'failed';
  try {
    const result = await api('POST', '/web/simulate', { event: state.event, product: state.product || undefined, payload });
    if (result.kind === 'extension') renderPreview(result);
    else renderOutcome(result);
    outcome = outcomeOf(result);
  } catch (err) {
    reportError('Not run', err);
    $('status').replaceChildren(h('p', { class: 'error-text' }, `Not run: ${err.message}`));
    // Nothing ran, so the previous run's details would only mislead.
    ['error', 'console', 'render', 'requests', 'db-changes', 'deliveries'].forEach((id) => $(id).replaceChildren(muted()));
    renderWarnings([]);
  } finally {
    state.running = false;
    btn.disabled = !state.loaded;
    $('outcome').removeAttribute('aria-busy');
    finishRunButton(outcome);
    // A disabled button drops focus in some browsers; give it back to keyboard users.
    if (hadFocus && (document.activeElement === document.body || document.activeElement === btn)) btn.focus();
    pollActivity();
  }
}

function renderWarnings(warnings) {
  $('warnings').hidden = warnings.length === 0;
  $('warnings-list').replaceChildren(...warnings.map((w) => h('li', {}, w)));
}

// A lifecycle handler's "no": its message, and what it would mean outside the simulator.
function refusalLines(r) {
  if (!r.refused) return [];
  const means = REFUSAL_MEANS[r.event];
  return [h('p', { class: 'error-text refusal' }, `${r.event} refused: ${r.refused}`),
    means ? h('p', { class: 'hint' }, means) : null].filter(Boolean);
}

function renderOutcome(r) {
  $('run-details').hidden = false;
  $('delivery-details').hidden = true;
  renderWarnings(r.warnings || []);
  const word = outcomeOf(r) === 'refused' ? 'refused' : r.status;
  $('status').replaceChildren(h('p', {},
    h('span', { class: `badge ${r.ok ? 'ok' : 'bad'}` }, word), ' ', fmtMs(r.duration_ms),
    r.handler ? ' · handler ' : null, r.handler ? h('code', {}, r.handler) : null), ...refusalLines(r));
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

// A Zoho Desk event: what each extension webhook's URL would receive (nothing is sent).
function renderPreview(r) {
  $('run-details').hidden = true;
  $('delivery-details').hidden = false;
  renderWarnings([]);
  const passing = r.deliveries.filter((d) => d.passes).length;
  $('status').replaceChildren(h('p', {},
    h('span', { class: `badge ${r.ok ? 'ok' : 'bad'}` }, r.ok ? 'would deliver' : 'filtered out'), ' ',
    `${passing} of ${r.deliveries.length} extension webhook(s) would receive ${r.event}. Not sent: weir dev only shows the body.`));
  $('deliveries').replaceChildren(...(r.deliveries.length ? r.deliveries.map(deliveryBlock) : [muted()]));
}

function deliveryBlock(d) {
  const filter = h('details', {}, h('summary', {}, 'Filter'), h('pre', { class: 'json' }, pretty(d.filter)));
  if (!d.passes) {
    return h('div', { class: 'delivery' }, h('span', { class: 'hook-key' }, d.webhook), ' ',
      h('span', { class: 'error-text' }, 'Not delivered: its filter for this event does not let it through.'), filter);
  }
  return h('div', { class: 'delivery' }, h('span', { class: 'hook-key' }, d.webhook), ' would receive a POST to',
    h('code', { class: 'url copyable' }, d.url),
    h('p', { class: 'hint' }, 'Body (under weir serve, events close together share one array, and the call is signed):'),
    h('pre', { class: 'json body' }, pretty(d.body)), filter);
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
  if (!state.event || !state.loaded || !payloadFor('Not saved')) return;
  const seq = state.loadSeq;
  const text = $('payload').value;
  try {
    const r = await api('POST', eventUrl('/web/events/'), text);
    if (seq !== state.loadSeq) return; // another event is shown now
    // Still dirty if it was edited while the save was on its way.
    Object.assign(state, { path: r.path, source: 'test_data', dirty: $('payload').value !== text });
    renderSource();
    notice(`Saved to ${r.path}`);
  } catch (err) { reportError('Not saved', err); }
}

async function reset() {
  if (!state.event || !state.loaded) return;
  if (!window.confirm(`Reset ${state.path} to the built-in default? This overwrites the file.`)) return;
  const seq = state.loadSeq;
  try {
    const r = await api('POST', eventUrl('/web/events/reset/'));
    if (seq !== state.loadSeq) return;
    setPayload({ payload: r.payload, source: 'default', path: r.path });
    resetRunButton();
    showGeneralError('');
    notice('Reset to the built-in default');
  } catch (err) { reportError('Not reset', err); }
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

// A lifecycle run that said no is listed as refused, with its message, as in the outcome.
function activityRow(inv) {
  const refused = inv.refused && inv.status === 'success';
  const word = refused ? 'refused' : inv.status;
  const first = inv.error || inv.refused || inv.console?.[0]?.text || '';
  const alarming = Boolean(inv.error || inv.refused);
  const when = new Date(inv.started_at ?? NaN); // ISO string or epoch milliseconds
  const valid = !Number.isNaN(when.getTime());
  return h('li', { class: `run status-${cls(word)}` },
    h('time', { datetime: valid ? when.toISOString() : null }, valid ? when.toLocaleTimeString() : inv.started_at),
    h('code', { class: 'event' }, inv.event),
    h('span', { class: `badge ${word === 'success' ? 'ok' : 'bad'}` }, word),
    h('span', { class: 'muted' }, fmtMs(inv.duration_ms)),
    h('span', { class: `detail${alarming ? ' error-text' : ''}`, title: first || null }, first));
}

// ---------- wiring ----------

function onPayloadInput() {
  resetRunButton();
  notice('');
  clearRefusal();
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
  setLoaded(false);
  $('payload').addEventListener('input', onPayloadInput);
  $('payload').addEventListener('keydown', onPayloadKey);
  $('simulate').addEventListener('click', simulate);
  $('save').addEventListener('click', save);
  $('reset').addEventListener('click', reset);
  $('reload-payload').addEventListener('click', () => {
    const retry = state.retry;
    $('payload').focus(); // the button hides itself: keep the keyboard user's place
    retry?.();
  });
  $('event').addEventListener('change', (e) => {
    // Cancelled: the select goes back to the event whose edits are kept.
    if (!confirmDiscard()) { e.target.value = state.event; return; }
    selectEvent(e.target.value);
  });
  $('product').addEventListener('change', (e) => {
    if (!confirmDiscard()) { e.target.value = state.product; return; }
    state.product = e.target.value;
    loadEvents(state.event);
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
