// The inv-view dashboard: plain JavaScript, no framework, nothing fetched
// from anywhere but this server. Live updates over /api/events (SSE).
"use strict";
const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;
let source = null, skuShown = null, chartPoints = [], lastChanges = null, lastAt = 0, overviewTimer = null;

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}
async function getJSON(path) {
  const r = await fetch(path, {cache: "no-store"});
  const body = await r.json().catch(() => ({}));
  return {status: r.status, body};
}
function setStatus(text, ok) { const s = $("status"); s.textContent = text; s.className = "status " + (ok ? "ok" : "bad"); }
function stateCell(state) { return el("td", {class: "state-" + (state || "none")}, (state || "none").replace(/_/g, " ")); }
function when(t) { return (t || "").replace("T", " ").replace(/\.\d+Z$|Z$/, ""); }

function feedItem(kind, e) {
  if (kind === "shortage")
    return el("li", {class: "new"}, el("a", {href: "#/sku/" + enc(e.sku)}, e.sku), " @ " + e.location_id + " ",
              el("span", {class: "state-" + e.state}, e.state.replace(/_/g, " ")), " (available " + e.available + ") " + when(e.occurred_at));
  return el("li", {class: "new"}, el("a", {href: "#/sku/" + enc(e.sku)}, e.sku), " @ " + e.location_id +
            ": reorder " + e.quantity + " (on hand " + e.on_hand + ") " + when(e.occurred_at));
}
function prepend(list, item, max) { list.prepend(item); while (list.children.length > max) list.lastChild.remove(); }

// ---- overview
async function loadOverview() {
  const {status, body} = await getJSON("/api/overview");
  if (status !== 200) return;
  setStatus((body.ready ? "live" : "rebuilding: " + body.rebuild_remaining + " left") + " · version " + body.version, body.ready);
  const now = Date.now();
  if (lastChanges !== null && now > lastAt) $("rate").textContent = Math.max(0, Math.round((body.changes_total - lastChanges) * 1000 / (now - lastAt)));
  lastChanges = body.changes_total; lastAt = now;
  $("age").textContent = body.last_change_ms ? ((body.now_ms - body.last_change_ms) / 1000).toFixed(1) + " s" : "–";
  $("rows").textContent = body.rows.stock;
  const grid = $("grid").tBodies[0]; grid.replaceChildren();
  for (const loc of Object.keys(body.shortage_grid).sort()) {
    const g = body.shortage_grid[loc];
    grid.append(el("tr", {}, el("td", {}, loc), el("td", {class: "state-low"}, g.low || 0), el("td", {class: "state-out_of_stock"}, g.out_of_stock || 0)));
  }
  if (!grid.children.length) grid.append(el("tr", {}, el("td", {colspan: 3}, "no location is short")));
  const ch = $("channels").tBodies[0]; ch.replaceChildren();
  for (const c of Object.keys(body.channels).sort())
    ch.append(el("tr", {}, el("td", {}, c), el("td", {}, body.channels[c].available_to_sell), el("td", {}, body.channels[c].skus_selling)));
  if (!ch.children.length) ch.append(el("tr", {}, el("td", {colspan: 3}, "no channel availability yet")));
}
async function loadFeeds() {
  for (const [kind, list] of [["shortages", "feed-shortages"], ["reorders", "feed-reorders"]]) {
    const {status, body} = await getJSON("/api/" + kind + "?limit=30");
    if (status !== 200) continue;
    $(list).replaceChildren(...body[kind].map((e) => { const li = feedItem(kind.slice(0, -1), e); li.className = ""; return li; }));
  }
}

// ---- SKU page
function drawChart() {
  const svg = $("chart"), cut = Date.now() - 10 * 60 * 1000;
  chartPoints = chartPoints.filter((p) => p[0] >= cut);
  svg.replaceChildren();
  if (!chartPoints.length) return;
  const pts = chartPoints.concat([[Date.now(), chartPoints[chartPoints.length - 1][1]]]);
  const t0 = pts[0][0], t1 = Math.max(pts[pts.length - 1][0], t0 + 1000);
  const vs = pts.map((p) => p[1]), lo = Math.min(...vs, 0), hi = Math.max(...vs, lo + 1);
  const x = (t) => (t - t0) / (t1 - t0) * 600, y = (v) => 110 - (v - lo) / (hi - lo) * 100;
  let d = "";
  pts.forEach((p, i) => { if (i) d += x(p[0]).toFixed(1) + "," + y(pts[i - 1][1]).toFixed(1) + " "; d += x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1) + " "; });
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", d.trim());
  svg.append(line);
  $("chart-label").textContent = "now " + vs[vs.length - 1] + " · min " + Math.min(...vs) + " · max " + Math.max(...vs) +
    " · since " + new Date(t0).toLocaleTimeString();
}
function renderSku(doc) {
  const body = $("locations").tBodies[0]; body.replaceChildren();
  const rows = doc.locations.slice().sort((a, b) => a.location_id < b.location_id ? -1 : 1);
  if (doc.network) rows.push(doc.network);
  for (const r of rows)
    body.append(el("tr", {"data-location": r.location_id}, el("td", {}, r.location_id === "*" ? "network (*)" : r.location_id), el("td", {}, r.on_hand),
                   el("td", {}, r.committed), el("td", {}, r.available), el("td", {}, r.on_order), el("td", {}, r.incoming),
                   el("td", {}, r.in_transit_out), stateCell(r.shortage_state),
                   el("td", {}, r.last_count_at ? when(r.last_count_at) : "never"),  // never counted, or an older row
                   el("td", {}, r.last_count_at ? r.count_variance : "")));
  const av = $("availability").tBodies[0]; av.replaceChildren();
  for (const a of doc.availability) av.append(el("tr", {}, el("td", {}, a.channel), el("td", {}, a.available_to_sell), el("td", {}, a.locations)));
  if (!doc.availability.length) av.append(el("tr", {}, el("td", {colspan: 3}, "no channel availability")));
  $("sku-shortages").replaceChildren(...doc.recent_shortages.map((e) => feedItem("shortage", e)));
  $("sku-reorders").replaceChildren(...doc.recent_reorders.map((e) => feedItem("reorder", e)));
}
let skuDoc = null;
async function loadSku(sku) {
  const {status, body} = await getJSON("/api/stock/" + enc(sku));
  if (skuShown !== sku) return;
  $("sku-missing").hidden = status === 200;
  if (status !== 200) { skuDoc = null; return; }
  skuDoc = body;
  const net = body.network ? body.network.on_hand : body.locations.reduce((s, r) => s + r.on_hand, 0);
  if (!chartPoints.length) chartPoints.push([Date.now(), net]);
  renderSku(body); drawChart();
}

// ---- live updates
function applyEvent(type, d) {
  if (skuShown !== null) {
    if (d.sku !== skuShown || !skuDoc) return;
    if (type === "stock" && d.row) {
      const list = d.location === "*" ? null : skuDoc.locations;
      if (list) { const i = list.findIndex((r) => r.location_id === d.location); if (i >= 0) list[i] = d.row; else list.push(d.row); }
      else { skuDoc.network = d.row; }
      const net = skuDoc.network ? skuDoc.network.on_hand : skuDoc.locations.reduce((s, r) => s + r.on_hand, 0);
      chartPoints.push([Date.now(), net]);
    } else if (type === "stock") {
      skuDoc.locations = skuDoc.locations.filter((r) => r.location_id !== d.location);
      if (d.location === "*") skuDoc.network = null;
    } else if (type === "availability") {
      const ch = d.row ? d.row.channel : null;
      skuDoc.availability = skuDoc.availability.filter((a) => a.channel !== ch);
      if (d.row) skuDoc.availability.push(d.row);
    } else if (type === "shortage") { skuDoc.recent_shortages.unshift(d.row); }
    else if (type === "reorder") { skuDoc.recent_reorders.unshift(d.row); }
    renderSku(skuDoc); drawChart();
    return;
  }
  if (type === "shortage") prepend($("feed-shortages"), feedItem("shortage", d.row), 30);
  if (type === "reorder") prepend($("feed-reorders"), feedItem("reorder", d.row), 30);
}
function listen(query) {
  if (source) source.close();
  source = new EventSource("/api/events" + query);
  for (const type of ["stock", "availability", "shortage", "reorder"])
    source.addEventListener(type, (m) => applyEvent(type, JSON.parse(m.data)));
  source.addEventListener("gap", () => { if (skuShown !== null) loadSku(skuShown); else loadFeeds(); });
  source.onerror = () => setStatus("reconnecting…", false);
  source.onopen = () => { if (skuShown !== null) setStatus("live", true); };
}

// ---- routing and search
function route() {
  const m = location.hash.match(/^#\/sku\/(.+)$/);
  clearInterval(overviewTimer);
  if (m) {
    skuShown = decodeURIComponent(m[1]); skuDoc = null; chartPoints = [];
    $("overview").hidden = true; $("sku").hidden = false; $("sku-title").textContent = skuShown;
    document.title = skuShown + " · inventory-events";
    listen("?sku=" + enc(skuShown)); loadSku(skuShown);
    overviewTimer = setInterval(drawChart, 2000);
  } else {
    skuShown = null; $("overview").hidden = false; $("sku").hidden = true; document.title = "inventory-events: live stock";
    listen(""); loadOverview(); loadFeeds();
    overviewTimer = setInterval(loadOverview, 2000);
  }
}
let suggestTimer = null;
$("q").addEventListener("input", () => {
  clearTimeout(suggestTimer);
  suggestTimer = setTimeout(async () => {
    const v = $("q").value; if (!v) return;
    const {status, body} = await getJSON("/api/skus?limit=20&prefix=" + enc(v));
    if (status === 200) $("sku-list").replaceChildren(...body.skus.map((s) => el("option", {value: s})));
  }, 150);
});
$("search").addEventListener("submit", (e) => { e.preventDefault(); const v = $("q").value.trim(); if (v) location.hash = "#/sku/" + enc(v); });
window.addEventListener("hashchange", route);
route();
