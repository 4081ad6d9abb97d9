// One account's portal: its subscriptions and deliveries, with attempts, and replays.
// The link's token comes in the URL's fragment (never sent to a server, so never in a
// log); it is kept for this tab only and sent as a bearer token.
"use strict";

const token = (() => {
  const fromLink = location.hash.slice(1);
  if (fromLink) {
    sessionStorage.setItem("weir-portal", fromLink);
    history.replaceState(null, "", location.pathname);
  }
  return sessionStorage.getItem("weir-portal") || "";
})();
Weir.credentials = (headers) => ({ ...headers, authorization: "Bearer " + token });

const { el, api, table } = Weir;
const view = document.getElementById("view");
const detail = document.getElementById("detail");
// The account the token stands for: `wpt_<account>.<issued>.<expiry>.<signature>`.
const account = token.startsWith("wpt_") ? token.slice(4).split(".").slice(0, -3).join(".") : "";
document.getElementById("account").textContent = account ? "— " + account : "";

let openId = null;
let query = "";
const subscriptions = el("div", { id: "subscriptions" });
const deliveries = el("div", { id: "deliveries" });

function render(container, data, draw) {
  const seen = JSON.stringify(data);
  if (container.dataset.seen === seen) return;
  container.dataset.seen = seen;
  container.replaceChildren(draw(data));
}

async function refresh() {
  const [subs, list] = await Promise.all([
    api("/accounts/" + encodeURIComponent(account) + "/subscriptions?limit=100"),
    api("/deliveries?limit=100" + (query ? "&" + query : "")),
  ]);
  render(subscriptions, subs.data, (rows) => table([
    ["Subscription", (s) => el("code", {}, s.id)], ["URL", (s) => s.url],
    ["Events", (s) => (s.events || []).join(", ")],
    ["Enabled", (s) => s.enabled ? "yes" : "no — " + Weir.text(s.disabled_reason)],
  ], rows));
  render(deliveries, list.data, (rows) => table([
    ["Delivery", (d) => el("button", { type: "button", class: "open", onclick: () => open(d.id) }, d.id)],
    ["Event", (d) => d.event], ["State", (d) => Weir.status(d.status)],
    ["Attempts", (d) => d.attempts], ["Next / last", (d) => d.run_at],
  ], rows, (d) => ({ "data-id": d.id })));
  if (openId) await Weir.showDelivery(detail, openId, refresh);
}

function open(id) {
  openId = id;
  detail.dataset.seen = "";
  Weir.showDelivery(detail, id, refresh).catch((error) => Weir.flash(error.message, true));
}

if (!account) {
  Weir.flash("This page needs a portal link; ask for a new one.", true);
} else {
  view.replaceChildren(
    el("h2", {}, "Subscriptions"), subscriptions,
    el("h2", {}, "Deliveries"),
    Weir.deliveryFilters((q) => { query = q; refresh().catch((e) => Weir.flash(e.message, true)); }),
    deliveries);
  refresh().catch((error) => Weir.flash(error.message, true));
  Weir.poll(refresh, 3000);
}
