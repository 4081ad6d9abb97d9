// What the console and the portal share: calling the API, building the page from data
// (text nodes only, never HTML from data), polling while the tab is visible, and a
// delivery's details with its attempts and actions.
"use strict";

const Weir = {
  // Set by each page: adds its credentials to a request's headers.
  credentials: (headers, method) => headers,

  async api(path, { method = "GET", body } = {}) {
    let headers = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    headers = Weir.credentials(headers, method);
    const response = await fetch("/api/v1" + path, {
      method, headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = { raw: text }; }
    if (!response.ok) {
      const message = (data && data.error && data.error.message) || response.statusText;
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return data;
  },

  el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  },

  // A value as text: objects as JSON, nothing as a dash.
  text(value) {
    if (value === undefined || value === null || value === "") return "—";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  },

  // A status as a labelled span; a status this page does not know is shown as it is.
  status(value) {
    const known = ["pending", "delivered", "dead", "skipped", "active", "failed", "succeeded"];
    const name = Weir.text(value);
    return Weir.el("span", { class: known.includes(name) ? "status-" + name : "status-other" }, name);
  },

  // columns: [[heading, row => cell]], rows: objects; rowAttrs(row) for each <tr>.
  table(columns, rows, rowAttrs = () => ({})) {
    if (!rows || rows.length === 0) return Weir.el("p", { class: "muted" }, "Nothing here.");
    return Weir.el("table", {},
      Weir.el("thead", {}, Weir.el("tr", {}, columns.map(([heading]) => Weir.el("th", { scope: "col" }, heading)))),
      Weir.el("tbody", {}, rows.map((row) => Weir.el("tr", rowAttrs(row),
        columns.map(([, cell]) => {
          const value = cell(row);
          return Weir.el("td", {}, value instanceof Node ? value : Weir.text(value));
        })))));
  },

  flash(message, isError = false) {
    const flash = document.getElementById("flash");
    flash.textContent = message;
    flash.className = isError ? "error" : "";
  },

  // Calls `refresh` every `ms` while the tab is visible, and at once when it shows again.
  poll(refresh, ms) {
    const live = document.getElementById("live");
    const tick = async () => {
      if (document.visibilityState !== "visible") return;
      try {
        await refresh();
        live.textContent = "Updated " + new Date().toLocaleTimeString();
      } catch (error) {
        live.textContent = "Not updated: " + error.message;
      }
    };
    setInterval(tick, ms);
    document.addEventListener("visibilitychange", tick);
  },

  // A delivery's details into `container`: its fields, its attempts, and buttons to
  // retry it now and to replay it. `after` runs once an action is accepted.
  async showDelivery(container, id, after) {
    const delivery = await Weir.api("/deliveries/" + encodeURIComponent(id));
    // Redrawn only when it changed, so that polling leaves the focus on its buttons.
    const seen = JSON.stringify(delivery);
    if (!container.hidden && container.dataset.seen === seen) return;
    container.dataset.seen = seen;
    const act = (label, path, htmlId) => Weir.el("button", {
      type: "button", id: htmlId,
      onclick: async () => {
        try {
          const answer = await Weir.api("/deliveries/" + encodeURIComponent(id) + path, { method: "POST" });
          Weir.flash(label + ": accepted; " + id + " is " + Weir.text(answer && answer.status) + ".");
          await after();
        } catch (error) {
          Weir.flash(label + ": " + error.message, true);
        }
      },
    }, label);
    const attempts = delivery.attempts_made || [];
    container.replaceChildren(
      Weir.el("h2", {}, "Delivery ", Weir.el("code", {}, delivery.id)),
      Weir.el("dl", {},
        Weir.el("dt", {}, "Status"), Weir.el("dd", { id: "detail-status" }, Weir.status(delivery.status)),
        Weir.el("dt", {}, "Account"), Weir.el("dd", {}, Weir.text(delivery.account_id)),
        Weir.el("dt", {}, "Event"), Weir.el("dd", {}, Weir.text(delivery.event), " ", Weir.el("code", {}, Weir.text(delivery.event_id))),
        Weir.el("dt", {}, "Subscription"), Weir.el("dd", {}, Weir.el("code", {}, Weir.text(delivery.subscription_id))),
        Weir.el("dt", {}, "Attempts"), Weir.el("dd", {}, Weir.text(delivery.attempts)),
        Weir.el("dt", {}, delivery.status === "pending" ? "Next attempt" : "Last change"), Weir.el("dd", {}, Weir.text(delivery.run_at))),
      Weir.el("div", { class: "actions" },
        act("Retry now", "/retry", "retry-now"),
        act("Replay", "/replay", "replay")),
      Weir.el("h3", {}, "Attempts"),
      Weir.el("div", { id: "attempts" }, Weir.table([
        ["#", (a) => a.number],
        ["At", (a) => a.at],
        ["Status", (a) => a.status_code],
        ["Duration", (a) => a.duration_ms + " ms"],
        ["Error", (a) => a.error],
        ["Response", (a) => Weir.el("pre", {}, Weir.text(a.response))],
      ], attempts)));
    container.hidden = false;
  },

  // Filters for a deliveries list, as a form; `apply(query)` gets the query string.
  deliveryFilters(apply, fields = ["status", "subscription", "event", "since", "until"]) {
    const input = (name, label, attrs = {}) => Weir.el("label", {}, label,
      Weir.el("input", { name, id: "filter-" + name, ...attrs }));
    const controls = {
      account: () => input("account", "Account"),
      status: () => Weir.el("label", {}, "State",
        Weir.el("select", { name: "status", id: "filter-status" },
          ["", "pending", "delivered", "dead", "skipped"].map((s) => Weir.el("option", { value: s }, s || "any")))),
      subscription: () => input("subscription", "Subscription", { placeholder: "sub_…" }),
      event: () => input("event", "Event", { placeholder: "onContactCreate" }),
      since: () => input("since", "Since", { placeholder: "2026-12-01T00:00:00Z" }),
      until: () => input("until", "Until", { placeholder: "RFC 3339" }),
    };
    const form = Weir.el("form", { class: "filters" },
      fields.map((name) => controls[name]()),
      Weir.el("button", { type: "submit" }, "Filter"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const query = new URLSearchParams();
      for (const [name, value] of new FormData(form)) if (value.trim()) query.set(name, value.trim());
      apply(query.toString());
    });
    return form;
  },
};
