// The manta dashboard's page: polls the dashboard's JSON every few seconds
// and fills the tables and the charts. Data goes into the page as text
// (textContent), never as markup.
"use strict";

const POLL_MS = 2000;
const SVG_NS = "http://www.w3.org/2000/svg";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmtBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : Number(n.toFixed(n < 10 ? 1 : 0))) + " " + units[i];
}

function fmtNum(v) {
  if (v === null || v === undefined) return "–";
  if (Math.abs(v) >= 100 || Number.isInteger(v)) return String(Math.round(v));
  return String(Number(v.toFixed(Math.abs(v) >= 10 ? 1 : 2)));
}

function fmtQty(name, v) {
  return /memory/.test(name) ? fmtBytes(v) : fmtNum(v);
}

function fmtTime(ms) {
  return new Date(ms).toLocaleTimeString([], {hour12: false});
}

function short(id) {
  return id && id.length > 16 ? id.slice(0, 16) + "…" : id;
}

function fillBody(table, rows, columns, empty) {
  const body = document.querySelector(table + " tbody");
  body.replaceChildren();
  if (rows.length === 0) {
    body.append(el("tr", {class: "empty"}, el("td", {colspan: columns}, empty)));
  }
  for (const r of rows) body.append(r);
}

function stateCell(s) {
  return el("td", {class: "state-" + s}, s);
}

async function getJSON(path) {
  const r = await fetch(path, {credentials: "same-origin", cache: "no-store"});
  if (r.status === 401) throw new Error("logged out: open the URL `manta dashboard` prints");
  if (!r.ok) throw new Error(path + ": " + r.status + " " + (await r.text()).trim());
  return r.json();
}

function renderNodes(data) {
  const nodes = data.nodes;
  const alive = nodes.filter(n => n.state === "alive").length;
  document.getElementById("headline").textContent =
    alive + " node" + (alive === 1 ? "" : "s") + " alive" + (nodes.length > alive ? ", " + (nodes.length - alive) + " dead" : "");
  fillBody("#nodes", nodes.map(n => {
    const res = el("td");
    for (const name of Object.keys(n.resources).sort()) {
      const free = n.free && name in n.free ? fmtQty(name, n.free[name]) : "?";
      res.append(el("div", {}, name + " " + free + " / " + fmtQty(name, n.resources[name])));
    }
    const store = el("td", {class: "nowrap"});
    if (n.store_capacity > 0) {
      const bar = el("span", {class: "bar"}, el("span"));
      bar.firstChild.style.width = Math.min(100, 100 * n.store_used / n.store_capacity).toFixed(1) + "%";
      store.append(bar, fmtBytes(n.store_used) + " / " + fmtBytes(n.store_capacity));
    } else {
      store.append("–");
    }
    const demands = el("td", {class: "demands"});
    for (const d of n.demands) demands.append(el("div", {}, d.count + " × {" + d.shape + "}: " + d.reason));
    const beat = n.heartbeat_age_s === null ? "never" : fmtNum(n.heartbeat_age_s) + " s ago";
    return el("tr", {"data-node": n.id},
      el("td", {class: "id", title: n.id}, short(n.id)), stateCell(n.state), el("td", {}, n.addr || "–"), res,
      el("td", {class: "num"}, n.running), el("td", {class: "num"}, n.queued), store,
      el("td", {class: "num"}, n.lent), demands, el("td", {class: "num"}, beat));
  }), 10, "no node has joined");
}

// chart draws series (each {name, cls, values}) against times (Unix ms)
// into the figure with id, over the seconds before the last sample.
function chart(id, times, series, unit) {
  const fig = document.getElementById(id);
  const svg = fig.querySelector("svg");
  const W = 480, H = 200, L = 44, R = 10, T = 10, B = 24;
  svg.replaceChildren();
  const legend = fig.querySelector(".legend");
  legend.replaceChildren();
  const last = times.length ? times[times.length - 1] : 0;
  const span = Math.max(60, times.length ? (last - times[0]) / 1000 : 0);
  let max = 0, points = 0;
  for (const s of series) for (const v of s.values) if (v !== null) { max = Math.max(max, v); points++; }
  const step = niceStep(max / 4 || 1);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const x = t => L + (W - L - R) * (1 - (last - t) / 1000 / span);
  const y = v => T + (H - T - B) * (1 - v / top);
  for (let v = 0; v <= top + step / 2; v += step) {
    svg.append(svgEl("line", {class: "grid", x1: L, x2: W - R, y1: y(v), y2: y(v)}));
    svg.append(svgEl("text", {class: "axis", x: L - 6, y: y(v) + 3, "text-anchor": "end"}, fmtNum(v)));
  }
  const tick = span > 180 ? 60 : span > 90 ? 30 : 15;
  for (let ago = 0; ago <= span; ago += tick) {
    svg.append(svgEl("text", {class: "axis", x: L + (W - L - R) * (1 - ago / span), y: H - 6, "text-anchor": "middle"},
      ago === 0 ? "now" : "−" + ago + " s"));
  }
  for (const s of series) {
    let d = "", pen = false;
    s.values.forEach((v, i) => {
      if (v === null) { pen = false; return; }
      d += (pen ? "L" : "M") + x(times[i]).toFixed(1) + "," + y(v).toFixed(1);
      pen = true;
    });
    if (d) svg.append(svgEl("path", {class: "series " + s.cls, d: d}));
    const lastV = s.values.length ? s.values[s.values.length - 1] : null;
    legend.append(el("span", {class: "key"}, el("span", {class: "swatch " + s.cls}),
      s.name + " ", el("strong", {class: "now", "data-series": s.name}, fmtNum(lastV)), " " + unit));
  }
  if (points === 0) {
    svg.append(svgEl("text", {class: "nodata", x: W / 2, y: H / 2, "text-anchor": "middle"}, "no data yet"));
  }
  fig.classList.toggle("has-data", points > 0);
}

function niceStep(raw) {
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * p) return m * p;
  return 10 * p;
}

function renderSeries(data) {
  for (const e of document.querySelectorAll(".every")) e.textContent = fmtNum(data.every_s) + " s";
  const s = data.samples;
  const times = s.map(p => p.t);
  chart("chart-inflight", times, [
    {name: "running", cls: "s1", values: s.map(p => p.running)},
    {name: "queued", cls: "s2", values: s.map(p => p.queued)},
  ], "tasks");
  chart("chart-throughput", times, [
    {name: "finished", cls: "s1", values: s.map(p => p.completed_per_s)},
  ], "tasks/s");
  chart("chart-latency", times, [
    {name: "median", cls: "s1", values: s.map(p => p.latency_p50_s)},
    {name: "longest", cls: "s3", values: s.map(p => p.latency_max_s)},
  ], "s");
  return data.problems;
}

function renderErrors(data) {
  fillBody("#errors", data.errors.map(e => el("tr", {},
    el("td", {}, fmtTime(e.seen)), el("td", {}, e.kind === "task" ? "task failed" : "actor died"),
    el("td", {}, e.name), el("td", {class: "id", title: e.id}, short(e.id)),
    el("td", {class: "id", title: e.node_id}, short(e.node_id)), el("td", {class: "msg"}, e.message))),
    6, "no errors seen");
}

const STATES = ["WAITING", "QUEUED", "RUNNING", "SPILLED", "FINISHED", "FAILED"];

function renderSummary(data) {
  const head = document.querySelector("#summary thead tr");
  head.replaceChildren(el("th", {}, "function"), ...STATES.map(s => el("th", {class: "num"}, s.toLowerCase())));
  const names = Object.keys(data.by_name).sort();
  fillBody("#summary", names.map(n => el("tr", {}, el("td", {}, n),
    ...STATES.map(s => el("td", {class: "num"}, data.by_name[n][s] || ""))),
  ), STATES.length + 1, "no tasks");
  return noAnswer(data.partial);
}

function noAnswer(partial) {
  return (partial || []).map(p => "no answer from " + p);
}

function countLine(id, page) {
  document.getElementById(id).textContent =
    page.items.length < page.total ? "(first " + page.items.length + " of " + page.total + ")" : "(" + page.total + ")";
}

function renderActors(page) {
  countLine("actors-count", page);
  fillBody("#actors", page.items.map(a => el("tr", {},
    el("td", {class: "id", title: a.actor_id}, short(a.actor_id)), el("td", {}, a.class_name), el("td", {}, a.name || ""),
    stateCell(a.state), el("td", {class: "id", title: a.node_id}, short(a.node_id)), el("td", {class: "num"}, a.pid || ""),
    el("td", {class: "num"}, a.queued_calls), el("td", {class: "num"}, a.running_calls),
    el("td", {class: "num"}, a.restarts_left), el("td", {class: "msg"}, a.death_cause || ""))),
    10, "no actors");
  return noAnswer(page.partial);
}

function renderObjects(page) {
  countLine("objects-count", page);
  fillBody("#objects", page.items.map(o => el("tr", {},
    el("td", {class: "id", title: o.object_id}, short(o.object_id)), el("td", {class: "id", title: o.node_id}, short(o.node_id)),
    el("td", {class: "num"}, fmtBytes(o.object_size)), el("td", {}, o.stored ? "object store" : "inline"),
    stateCell(o.state), el("td", {class: "num"}, o.reference_count))),
    6, "no objects");
  return noAnswer(page.partial);
}

async function poll() {
  const parts = [
    ["/api/nodes", renderNodes], ["/api/series", renderSeries], ["/api/errors", renderErrors],
    ["/api/summary", renderSummary], ["/api/actors", renderActors], ["/api/objects", renderObjects],
  ];
  const results = await Promise.allSettled(parts.map(([path, render]) => getJSON(path).then(render)));
  const problems = new Set();
  results.forEach(r => {
    if (r.status === "rejected") problems.add(r.reason.message);
    else for (const p of r.value || []) problems.add(p);
  });
  const box = document.getElementById("problems");
  box.textContent = [...problems].join("\n");
  box.hidden = problems.size === 0;
  document.getElementById("updated").textContent = "updated " + fmtTime(Date.now());
  setTimeout(poll, POLL_MS);
}

poll();
