'use strict';
// Weir dev installation parameters (/custom_configs): one field per iparam of
// config/iparams.json, saved for the dev installation with POST /web/api/iparams.
// Uses $, h, setText and api from common.js (loaded first).

// Input types for the iparam types that are a single <input>.
const INPUT_TYPES = {
  text: 'text', api_key: 'text', domain: 'text', number: 'number', email: 'email',
  url: 'url', date: 'date', phone_number: 'tel', phonenumber: 'tel',
};

let fields = [];
let saving = false;

// Options may be plain values or {value, label} objects; the DOM only holds strings.
const optValue = (o) => (o !== null && typeof o === 'object' ? o.value ?? o.label : o);
const optLabel = (o) => (o !== null && typeof o === 'object' ? o.label ?? o.display_name ?? o.value : o);

// Maps a string from the DOM back to the option as declared (so numeric options stay numbers).
function originalOption(f, text) {
  const found = (f.options || []).find((o) => String(optValue(o)) === text);
  return found === undefined ? text : optValue(found);
}

// ---------- building the form ----------

function labelText(f) {
  return [f.display_name || f.name, f.required ? h('span', { class: 'required', 'aria-hidden': 'true' }, '*') : null];
}

function buildField(f, value) {
  const id = `iparam-${f.name}`;
  // The field's description from config/iparams.json (string or null) is its hint.
  const description = [
    typeof f.description === 'string' ? f.description.trim() : '',
    f.type === 'multiselect' ? 'Hold Ctrl (⌘ on a Mac) to choose several.' : '',
  ].filter(Boolean).join(' ');
  // Not under the iparam- prefix, so a hint id can never be another field's id.
  const hintId = description ? `hint-${f.name}` : null;
  const hint = description ? h('p', { class: 'hint', id: hintId }, description) : null;
  const common = { id, name: f.name, 'aria-describedby': hintId, 'aria-required': f.required ? 'true' : null };

  if (f.type === 'checkbox') {
    const box = h('input', { ...common, type: 'checkbox' });
    box.checked = value === true || value === 'true';
    return h('div', { class: 'field' }, h('label', { for: id, class: 'choice' }, box, ...labelText(f)), hint);
  }
  if (f.type === 'radio') return buildRadioGroup(f, value, common, hint);
  if (f.type === 'dropdown' || f.type === 'multiselect') return labelled(f, buildSelect(f, value, common), hint);

  let control;
  if (f.type === 'paragraph' && !f.secure) {
    control = h('textarea', { ...common, rows: '4' });
  } else {
    const type = f.secure ? 'password' : INPUT_TYPES[f.type] || 'text';
    control = h('input', { ...common, type, autocomplete: f.secure ? 'new-password' : 'off', step: type === 'number' ? 'any' : null });
  }
  control.value = value == null ? '' : String(value);
  // A date the browser cannot show would be silently dropped: fall back to a text box.
  if (control.type === 'date' && value != null && control.value === '') {
    control.type = 'text';
    control.value = String(value);
  }
  return labelled(f, control, hint);
}

function labelled(f, control, hint) {
  return h('div', { class: 'field' }, h('label', { for: control.id }, ...labelText(f)), control, hint);
}

function buildSelect(f, value, common) {
  const multiple = f.type === 'multiselect';
  const chosen = (Array.isArray(value) ? value : value == null ? [] : [value]).map(String);
  const select = h('select', { ...common, multiple: multiple ? '' : null });
  if (!multiple) select.append(h('option', { value: '' }, '— Choose —'));
  for (const o of f.options || []) {
    const option = h('option', { value: optValue(o) }, optLabel(o));
    option.selected = chosen.includes(String(optValue(o)));
    select.append(option);
  }
  return select;
}

function buildRadioGroup(f, value, common, hint) {
  const group = h('fieldset', { class: 'field', id: common.id, role: 'radiogroup', 'aria-required': common['aria-required'], 'aria-describedby': common['aria-describedby'] },
    h('legend', {}, ...labelText(f)));
  (f.options || []).forEach((o, i) => {
    const radio = h('input', { type: 'radio', id: `choice-${f.name}-${i}`, name: f.name, value: optValue(o) });
    radio.checked = value != null && String(value) === String(optValue(o));
    group.append(h('label', { class: 'choice', for: radio.id }, radio, optLabel(o)));
  });
  if (hint) group.append(hint);
  return group;
}

// ---------- reading and saving ----------

// Returns the typed value, or undefined for an empty field (left out of the request).
function readField(f) {
  const node = $(`iparam-${f.name}`);
  switch (f.type) {
    case 'checkbox':
      return node.checked;
    case 'multiselect': {
      const chosen = [...node.selectedOptions].map((o) => originalOption(f, o.value));
      return chosen.length ? chosen : undefined;
    }
    case 'radio': {
      const checked = node.querySelector('input:checked');
      return checked ? originalOption(f, checked.value) : undefined;
    }
    case 'dropdown':
      return node.value === '' ? undefined : originalOption(f, node.value);
    case 'number': {
      const raw = node.value.trim();
      if (raw === '') return undefined;
      // Something that is not a number is sent as typed, so the server can say what is wrong.
      return Number.isFinite(Number(raw)) ? Number(raw) : raw;
    }
    default:
      return node.value.trim() === '' ? undefined : node.value;
  }
}

function collectValues() {
  const values = {};
  for (const f of fields) {
    const value = readField(f);
    if (value !== undefined) values[f.name] = value;
  }
  return values;
}

function clearInvalid() {
  for (const node of document.querySelectorAll('#iparams [aria-invalid]')) node.removeAttribute('aria-invalid');
  for (const node of document.querySelectorAll('#iparams [data-error-linked]')) {
    node.setAttribute('aria-describedby', node.dataset.errorLinked);
    if (!node.dataset.errorLinked) node.removeAttribute('aria-describedby');
    delete node.dataset.errorLinked;
  }
}

// The server names the field first ("iparams.api_key: required by the app"): take the developer there.
function focusNamedField(message) {
  const match = /^iparams\.([^:\s.[]+)/.exec(message);
  const node = match && $(`iparam-${match[1]}`);
  if (!node) return;
  const target = node.tagName === 'FIELDSET' ? node.querySelector('input:checked') || node.querySelector('input') : node;
  node.setAttribute('aria-invalid', 'true');
  if (target) {
    const before = target.getAttribute('aria-describedby') || '';
    target.dataset.errorLinked = before;
    target.setAttribute('aria-describedby', `${before} iparams-error`.trim());
    target.focus();
  }
}

async function onSubmit(event) {
  event.preventDefault();
  if (saving) return;
  saving = true;
  const button = $('save-iparams');
  setText(button, 'Saving…');
  setText($('iparams-error'), '');
  setText($('iparams-notice'), '');
  clearInvalid();
  try {
    await api('POST', '/web/api/iparams', { values: collectValues() });
    setText($('iparams-notice'), 'Saved');
  } catch (err) {
    setText($('iparams-error'), err.message);
    focusNamedField(err.message);
  } finally {
    saving = false;
    setText(button, 'Save');
  }
}

// ---------- start ----------

async function init() {
  $('iparams').addEventListener('submit', onSubmit);
  // Editing after a save makes the old "Saved" notice stale.
  $('iparams').addEventListener('input', () => setText($('iparams-notice'), ''));
  api('GET', '/web/api/app').then((app) => {
    setText($('app-name'), `Weir dev · ${app.name}`);
    document.title = `Installation parameters · ${app.name} · Weir dev`;
  }).catch(() => { /* the name is decoration; the form below reports real errors */ });
  try {
    const data = await api('GET', '/web/api/iparams');
    fields = data.fields || [];
    const values = data.values || {};
    $('iparams-fields').replaceChildren(...(fields.length
      ? fields.map((f) => buildField(f, values[f.name] ?? f.default))
      : [h('p', { class: 'muted' }, 'This app has no installation parameters.')]));
    $('save-iparams').disabled = false;
  } catch (err) {
    $('iparams-fields').replaceChildren();
    setText($('iparams-error'), `Could not load the parameters: ${err.message}`);
  }
}

document.addEventListener('DOMContentLoaded', init);
