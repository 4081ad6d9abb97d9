// The operator console: sections chosen by the URL's fragment, each a list read from the
// API (with the session cookie) and refreshed every few seconds while the tab is visible.
"use strict";

// A cookie-authenticated change must say it comes from the console (CSRF; docs/console.md).
Weir.credentials = (headers, method) =>
  method === "GET" ? headers : { ...headers, "x-weir-console": "1" };

const { el, api, table } = Weir;
const view = document.getElementById("view");
const detail = document.getElementById("detail");

// What the open section and the open detail redraw on each poll.
let refreshView = async () => {};
let refreshDetail = null;

// Replaces `container`'s content only when the data changed, so that polling does not
// move the keyboard focus or the scroll position for nothing.
function render(container, data, draw) {
  const seen = JSON.stringify(data);
  if (container.dataset.seen === seen) return;
  container.dataset.seen = seen;
  container.replaceChildren(draw(data));
}

async function everyAccount(pathOf) {
  const accounts = (await api("/accounts?limit=100")).data;
  const lists = await Promise.all(accounts.map((a) => api(pathOf(a.id)).then((l) => l.data)));
  return lists.flat();
}

function openDetail(show) {
  refreshDetail = show;
  detail.dataset.seen = "";
  return show().catch((error) => Weir.flash(error.message, true));
}

const openButton = (label, onclick) => el("button", { type: "button", class: "open", onclick }, label);

function deliveryRow(delivery) {
  return { "data-id": delivery.id };
}

function deliveriesSection(title, fixed) {
  const results = el("div", { id: "deliveries" });
  let query = fixed;
  const load = async () => {
    const list = await api("/deliveries?limit=100" + (query ? "&" + query : ""));
    render(results, list.data, (rows) => table([
      ["Delivery", (d) => openButton(d.id, () => openDelivery(d.id))],
      ["Account", (d) => d.account_id],
      ["Event", (d) => d.event],
      ["State", (d) => Weir.status(d.status)],
      ["Attempts", (d) => d.attempts],
      ["Next / last", (d) => d.run_at],
    ], rows, deliveryRow));
  };
  const filters = fixed
    ? el("p", { class: "muted" }, "Deliveries out of attempts, or whose subscription was disabled: replay them, or recover a subscription's since a time.")
    : Weir.deliveryFilters((q) => { query = q; load(); }, ["account", "status", "subscription", "event", "since", "until"]);
  view.replaceChildren(el("h2", {}, title), filters, results);
  return load;
}

function openDelivery(id) {
  return openDetail(() => Weir.showDelivery(detail, id, async () => {
    await refreshView();
    await refreshDetail();
  }));
}

function subscriptionsSection() {
  const results = el("div");
  const act = (label, call) => el("button", {
    type: "button",
    onclick: async () => {
      try {
        const answer = await call();
        Weir.flash(label + ": done." + (answer && answer.secret ? " New secret: " + answer.secret : "")
          + (answer && answer.recovered !== undefined ? " Recovered " + answer.recovered + "." : ""));
        await load();
      } catch (error) { Weir.flash(label + ": " + error.message, true); }
    },
  }, label);
  const recoverForm = (s) => {
    const since = el("input", { "aria-label": "Recover since", placeholder: "since, RFC 3339", size: 22 });
    return el("span", {}, since, act("Recover", () =>
      api("/subscriptions/" + s.id + "/recover", { method: "POST", body: { since: since.value.trim() } })));
  };
  const load = async () => {
    const rows = await everyAccount((id) => "/accounts/" + encodeURIComponent(id) + "/subscriptions?limit=100");
    render(results, rows, (rows) => table([
      ["Subscription", (s) => el("code", {}, s.id)],
      ["Account", (s) => s.account_id],
      ["URL", (s) => s.url],
      ["Events", (s) => (s.events || []).join(", ")],
      ["Enabled", (s) => s.enabled ? "yes" : "no — " + Weir.text(s.disabled_reason)],
      ["Failing since", (s) => s.failing_since],
      ["Actions", (s) => el("div", { class: "actions" },
        openButton("Deliveries", () => { location.hash = "deliveries"; }),
        s.enabled
          ? act("Disable", () => api("/subscriptions/" + s.id, { method: "PATCH", body: { enabled: false } }))
          : act("Enable", () => api("/subscriptions/" + s.id + "/enable", { method: "POST" })),
        act("Rotate secret", () => api("/subscriptions/" + s.id + "/rotate-secret", { method: "POST" })),
        recoverForm(s))],
    ], rows));
  };
  view.replaceChildren(el("h2", {}, "Subscriptions"), results);
  return load;
}

function accountsSection() {
  const results = el("div");
  view.replaceChildren(el("h2", {}, "Accounts"), results);
  return async () => {
    const list = await api("/accounts?limit=100");
    render(results, list.data, (rows) => table([
      ["Account", (a) => a.id], ["Domain", (a) => a.domain], ["Region", (a) => a.region],
      ["Product", (a) => a.product], ["Created", (a) => a.created_at],
    ], rows));
  };
}

function appsSection() {
  const results = el("div");
  view.replaceChildren(el("h2", {}, "Apps and versions"), results);
  const showApp = (app) => openDetail(async () => {
    const hooks = await api("/apps/" + encodeURIComponent(app.id) + "/global-webhooks");
    detail.replaceChildren(
      el("h2", {}, "App ", el("code", {}, app.id)),
      el("pre", {}, JSON.stringify(app, null, 2)),
      el("h3", {}, "Connector global webhooks"),
      table([
        ["Key", (h) => h.key], ["URL", (h) => h.url],
        ["Counters", (h) => el("pre", {}, JSON.stringify(Object.fromEntries(Object.entries(h)
          .filter(([k]) => !["key", "name", "url", "version_url"].includes(k))), null, 1))],
      ], hooks.data));
    detail.hidden = false;
  });
  return async () => {
    const list = await api("/apps?limit=100");
    render(results, list.data, (rows) => table([
      ["App", (a) => openButton(a.id, () => showApp(a))],
      ["Name", (a) => a.name], ["Version", (a) => a.version], ["Uploaded", (a) => a.created_at],
    ], rows));
  };
}

function iparams(installation) {
  const shown = Object.entries(installation.iparams || {}).map(([k, v]) => k + " = " + Weir.text(v));
  const secure = (installation.secure_iparams || []).map((k) => k + " = •••••• (secure)");
  return el("pre", {}, shown.concat(secure).join("\n") || "—");
}

function showInvocations(installation) {
  return openDetail(async () => {
    const list = await api("/installations/" + installation.id + "/invocations?limit=50");
    detail.replaceChildren(
      el("h2", {}, "Handler runs of ", el("code", {}, installation.id)),
      table([
        ["Run", (r) => openButton(Weir.text(r.id), () => showInvocation(r.id))],
        ["Event", (r) => r.event],
        ["Handler", (r) => r.handler], ["Status", (r) => Weir.status(r.status)],
        ["Duration", (r) => Weir.text(r.duration_ms) + " ms"], ["Error", (r) => r.error],
      ], list.data));
    detail.hidden = false;
  });
}

function showInvocation(id) {
  return openDetail(async () => {
    const record = await api("/invocations/" + encodeURIComponent(id));
    const lines = (record.console || []).map((line) => Weir.text(line.level) + "  " + Weir.text(line.text));
    detail.replaceChildren(el("h2", {}, "Handler run ", el("code", {}, id)),
      el("dl", {},
        el("dt", {}, "Status"), el("dd", {}, Weir.status(record.status)),
        el("dt", {}, "Handler"), el("dd", {}, Weir.text(record.handler), " for ", Weir.text(record.event)),
        el("dt", {}, "Installation"), el("dd", {}, Weir.text(record.installation_id)),
        el("dt", {}, "Started"), el("dd", {}, Weir.text(record.started_at)),
        el("dt", {}, "Duration"), el("dd", {}, Weir.text(record.duration_ms) + " ms"),
        el("dt", {}, "Error"), el("dd", { class: record.error ? "error" : "" }, Weir.text(record.error))),
      el("h3", {}, "Console output"),
      el("pre", { id: "console-output" }, lines.join("\n") || "—"),
      record.stack ? el("pre", {}, record.stack) : "");
    detail.hidden = false;
  });
}

function showEvent(id) {
  return openDetail(async () => {
    const event = await api("/events/" + encodeURIComponent(id));
    detail.replaceChildren(el("h2", {}, "Event ", el("code", {}, id)),
      el("h3", {}, "Jobs (handler runs it owes)"),
      table([
        ["Installation", (j) => j.installation_id], ["Handler", (j) => j.handler],
        ["Status", (j) => Weir.status(j.status)], ["Attempts", (j) => j.attempts + " / " + j.max_attempts],
        ["Last run", (j) => j.last_invocation ? openButton(j.last_invocation, () => showInvocation(j.last_invocation)) : "—"],
      ], event.jobs),
      el("h3", {}, "Event"), el("pre", {}, JSON.stringify(event, null, 2)));
    detail.hidden = false;
  });
}

function installationsSection(purpose) {
  const results = el("div");
  const audit = (installation) => openDetail(async () => {
    const list = await api("/installations/" + installation.id + "/webhook-invocations?limit=50");
    detail.replaceChildren(el("h2", {}, "Registered-webhook calls of ", el("code", {}, installation.id)),
      table([
        ["Reference", (c) => c.reference_id], ["Webhook", (c) => c.webhook_id],
        ["Method", (c) => c.method], ["Host", (c) => c.target_host],
        ["Status", (c) => c.status], ["Error", (c) => c.error_message],
        ["Duration", (c) => Weir.text(c.duration_ms) + " ms"], ["At", (c) => c.started_at],
      ], list.data));
    detail.hidden = false;
  });
  const heading = purpose === "audit" ? "Registered-webhook audit" : "Installations";
  view.replaceChildren(el("h2", {}, heading), results);
  return async () => {
    const rows = await everyAccount((id) => "/accounts/" + encodeURIComponent(id) + "/installations?limit=100");
    render(results, rows, (rows) => table([
      ["Installation", (i) => el("code", {}, i.id)], ["Account", (i) => i.account_id],
      ["App", (i) => i.app_name], ["Status", (i) => Weir.status(i.status)],
      ["Iparams", iparams], ["Target URL", (i) => el("code", {}, Weir.text(i.target_url))],
      ["", (i) => purpose === "audit"
        ? openButton("Webhook calls", () => audit(i))
        : openButton("Handler runs", () => showInvocations(i))],
    ], rows));
  };
}

function eventsSection() {
  const results = el("div", { id: "events" });
  let query = "";
  const load = async () => {
    const list = await api("/events?limit=100" + (query ? "&" + query : ""));
    render(results, list.data, (rows) => table([
      ["Event", (e) => openButton(e.id, () => showEvent(e.id))],
      ["Account", (e) => e.account_id], ["Name", (e) => e.event],
      ["Received", (e) => e.received_at], ["Idempotency key", (e) => e.idempotency_key],
    ], rows, (e) => ({ "data-id": e.id })));
  };
  const filters = el("form", { class: "filters" },
    el("label", {}, "Account", el("input", { name: "account" })),
    el("label", {}, "Event", el("input", { name: "event", placeholder: "onContactCreate" })),
    el("button", { type: "submit" }, "Filter"));
  filters.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [name, value] of new FormData(filters)) if (value.trim()) q.set(name, value.trim());
    query = q.toString();
    load().catch((error) => Weir.flash(error.message, true));
  });
  view.replaceChildren(el("h2", {}, "Events, newest first"), filters, results);
  return load;
}

const sections = {
  deliveries: () => deliveriesSection("Deliveries, every account", ""),
  dead: () => deliveriesSection("Dead letters", "status=dead"),
  subscriptions: subscriptionsSection,
  accounts: accountsSection,
  apps: appsSection,
  installations: () => installationsSection("installations"),
  events: eventsSection,
  audit: () => installationsSection("audit"),
};

function route() {
  const name = sections[location.hash.slice(1)] ? location.hash.slice(1) : "deliveries";
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", link.getAttribute("href") === "#" + name);
    if (link.getAttribute("href") === "#" + name) link.setAttribute("aria-current", "page");
  }
  detail.hidden = true;
  refreshDetail = null;
  Weir.flash("");
  refreshView = sections[name]();
  refreshView().catch((error) => Weir.flash(error.message, true));
}

document.getElementById("log-out").addEventListener("click", async () => {
  await fetch("/console/logout", { method: "POST", headers: { "x-weir-console": "1" }, credentials: "same-origin" });
  location.assign("/console");
});
window.addEventListener("hashchange", route);
route();
Weir.poll(async () => {
  await refreshView();
  if (refreshDetail) await refreshDetail();
}, 3000);
