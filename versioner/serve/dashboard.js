"use strict";
// The dashboard: reads /api/v1 and draws tables and an SVG chart. Every value from the
// store is inserted as text, never as HTML.

const state = { model: new URLSearchParams(location.search).get("model") || "", metric: "f1_score",
                timelineAll: false, verified: {} };
const TIMELINE_ROWS = 10;

function q(path) {
  const sep = path.includes("?") ? "&" : "?";
  return "/api/v1/" + path + (state.model && state.model !== "default" ? sep + "model=" + encodeURIComponent(state.model) : "");
}

async function get(path) {
  const response = await fetch(q(path), { credentials: "same-origin" });
  const doc = await response.json();
  if (!response.ok) throw new Error(doc.detail || response.statusText);
  return doc;
}

async function post(path, body) {
  const response = await fetch(q(path), {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const doc = await response.json();
  if (!response.ok) throw new Error(doc.detail || response.statusText);
  return doc;
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "-" : String(text);
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function fixed(x, digits) { return typeof x === "number" ? x.toFixed(digits === undefined ? 3 : digits) : "-"; }
function when(iso) { return iso ? iso.replace("T", " ").replace("Z", "") : "-"; }
function size(bytes) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0; let v = bytes;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? v + " B" : v.toFixed(1) + " " + units[i];
}
function say(text, bad) {
  const el = document.getElementById("status");
  el.textContent = text; el.className = bad ? "bad" : "ok";
}
function body(id) { const tbody = document.querySelector("#" + id + " tbody"); tbody.textContent = ""; return tbody; }
// "v004" for "v004_20251117_150000_reasoning_5k", with the full name as its tooltip.
function shortName(td, name) {
  if (!name) return td;
  td.textContent = name.split("_")[0]; td.title = name;
  return td;
}
// An empty table says so instead of showing its headers alone.
function noneRow(tbody, text) {
  if (tbody.rows.length > 0) return;
  const row = document.createElement("tr");
  const td = cell(row, text, "muted");
  td.colSpan = tbody.parentElement.querySelectorAll("thead th").length;
  tbody.appendChild(row);
}

async function act(label, path, payload) {
  try {
    const doc = await post(path, payload);
    say(label + ": " + (doc.from || "(none)") + " -> " + doc.to);
  } catch (e) {
    say(label + " failed: " + e.message + (e.message.includes("token") ? " (open the login link the server printed)" : ""), true);
  }
  await refresh();
}

function drawVersions(versions, stages, canRollBack) {
  const tbody = body("versions");
  document.getElementById("metric-head").textContent = state.metric;
  for (const v of versions) {
    const row = document.createElement("tr");
    row.dataset.version = v.name;
    cell(row, v.id);
    cell(row, when(v.created_at));
    cell(row, v.status);
    const marks = cell(row, "");
    for (const [stage, holder] of Object.entries(stages)) {
      if (holder === v.name) {
        const span = document.createElement("span");
        span.className = "stage " + stage; span.textContent = stage; marks.appendChild(span);
      }
    }
    if (v.latest) { const span = document.createElement("span"); span.className = "stage"; span.textContent = "latest"; marks.appendChild(span); }
    cell(row, fixed((v.metrics || {})[state.metric]));
    cell(row, v.description);
    shortName(cell(row, "-"), v.parent_version).className = "parent";
    const verified = state.verified[v.name];
    const check = cell(row, verified ? verified.text : "not checked here", verified ? verified.cls : "muted");
    check.className += " verification";
    const actions = cell(row, "");
    const verify = document.createElement("button");
    verify.textContent = "verify"; verify.className = "verify";
    verify.addEventListener("click", () => verifyVersion(v));
    actions.appendChild(verify);
    const promote = document.createElement("button");
    promote.textContent = "promote"; promote.className = "promote";
    promote.disabled = stages.production === v.name;
    promote.addEventListener("click", () => act("promote " + v.id, "promote", { version: v.name, reason: "dashboard" }));
    actions.appendChild(promote);
    tbody.appendChild(row);
  }
  noneRow(tbody, "no versions yet: model-versioner create --adapter DIR --description TEXT");
  const rollback = document.createElement("tr");
  const td = cell(rollback, ""); td.colSpan = 9;
  const button = document.createElement("button");
  button.textContent = "roll production back"; button.id = "rollback";
  button.disabled = !stages.production || !canRollBack;
  button.title = button.disabled ? "production has no earlier version to go back to" : "";
  button.addEventListener("click", () => act("rollback", "rollback", { reason: "dashboard" }));
  td.appendChild(button);
  tbody.appendChild(rollback);
}

// Recomputes every checksum of one version (POST versions/N/verify) and shows the outcome.
async function verifyVersion(v) {
  try {
    const doc = await post("versions/" + encodeURIComponent(v.name) + "/verify", {});
    const item = (doc.versions || [])[0] || {};
    const damaged = (item.missing || []).length + (item.modified || []).length;
    state.verified[v.name] = doc.ok ? { text: "verified " + new Date().toLocaleTimeString(), cls: "ok" }
      : { text: "DAMAGED: " + (item.metadata_error || damaged + " file(s); model-versioner repair"), cls: "bad" };
    say("verify " + v.id + ": " + (doc.ok ? "intact" : "damaged"), !doc.ok);
  } catch (e) {
    say("verify failed: " + e.message + (e.message.includes("token") ? " (open the login link the server printed)" : ""), true);
  }
  await refresh();
}

function drawChart(versions) {
  const svg = document.getElementById("chart");
  svg.textContent = "";
  const ns = "http://www.w3.org/2000/svg";
  const points = versions.filter(v => typeof (v.metrics || {})[state.metric] === "number")
                         .map(v => ({ id: v.id, name: v.name, y: v.metrics[state.metric] }));
  const add = (tag, attrs, text) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, val] of Object.entries(attrs)) el.setAttribute(k, val);
    if (text !== undefined) el.textContent = text;
    svg.appendChild(el); return el;
  };
  if (points.length === 0) { add("text", { x: 20, y: 110 }, "no version has " + state.metric); return; }
  const lo = Math.min(...points.map(p => p.y)); const hi = Math.max(...points.map(p => p.y));
  const span = hi - lo || 1;
  const x = i => 60 + (points.length === 1 ? 400 : i * 800 / (points.length - 1));
  const y = v => 190 - (v - lo) / span * 160;
  add("line", { x1: 60, y1: 190, x2: 860, y2: 190, stroke: "#d0d7de" });
  add("text", { x: 4, y: y(hi) + 4 }, fixed(hi));
  add("text", { x: 4, y: y(lo) + 4 }, fixed(lo));
  add("polyline", { fill: "none", stroke: "#0969da", "stroke-width": 2,
                    points: points.map((p, i) => x(i) + "," + y(p.y)).join(" ") });
  points.forEach((p, i) => {
    const dot = add("circle", { cx: x(i), cy: y(p.y), r: 4, fill: "#0969da", "data-version": p.name, "data-value": p.y });
    const title = document.createElementNS(ns, "title"); title.textContent = p.id + ": " + fixed(p.y); dot.appendChild(title);
    add("text", { x: x(i) - 12, y: 208 }, p.id);
  });
}

function drawTimeline(events) {
  const tbody = body("timeline");
  const moves = events.filter(e => e.event === "promote" || e.event === "rollback" || e.event === "ab_promote");
  const shown = state.timelineAll ? moves : moves.slice(0, TIMELINE_ROWS);
  for (const e of shown) {
    const row = document.createElement("tr");
    cell(row, when(e.time));
    cell(row, e.stage);
    cell(row, e.event + (e.automatic ? " (automatic)" : ""), e.automatic ? "bad" : "");
    shortName(cell(row, "-"), e.from); shortName(cell(row, "-"), e.to); cell(row, e.reason);
    tbody.appendChild(row);
  }
  noneRow(tbody, "no stage has moved yet");
  const more = document.getElementById("timeline-more");
  more.hidden = moves.length <= TIMELINE_ROWS;
  more.textContent = state.timelineAll ? "show the newest " + TIMELINE_ROWS : "show all " + moves.length;
}

async function drawAb(tests) {
  const tbody = body("ab");
  for (const t of tests) {
    const status = await get("ab/" + encodeURIComponent(t.id) + "/status");
    for (const variant of ["control", "treatment"]) {
      const s = (status.variants || {})[variant] || {};
      const row = document.createElement("tr");
      cell(row, variant === "control" ? t.id : "");
      cell(row, variant === "control" ? status.status : "");
      cell(row, variant); shortName(cell(row, "-"), status[variant]); cell(row, s.predictions);
      cell(row, s.accuracy === null || s.accuracy === undefined ? "-" :
        fixed(s.accuracy) + " [" + fixed(s.accuracy_ci95[0]) + ", " + fixed(s.accuracy_ci95[1]) + "]");
      cell(row, fixed(s.error_rate)); cell(row, fixed(s.p95_latency_ms, 1));
      const r = t.result || {};
      if (variant === "control") {
        cell(row, t.status !== "concluded" ? "-" :
          (r.winner ? "winner " + r.winner : "no winner") + ", p " + fixed(r.p_value) +
          (r.significant ? " (significant)" : " (not significant)"), r.winner ? "ok" : "muted");
      } else {
        cell(row, "");
      }
      tbody.appendChild(row);
    }
  }
  noneRow(tbody, "no A/B tests: model-versioner ab create ID --control A --treatment B");
}

function drawMonitor(status) {
  const tbody = body("monitor");
  const w = status.window || {}; const t = status.thresholds || {};
  const heading = document.getElementById("monitor-head");
  heading.textContent = "Monitoring (production" + (status.version ? ": " + status.version.split("_")[0] : ", which serves nothing yet") + ")";
  heading.title = status.version || "";
  const empty = !w.predictions;
  const drop = typeof status.baseline_accuracy === "number" && typeof w.accuracy === "number"
    ? status.baseline_accuracy - w.accuracy : null;
  const rows = [
    ["accuracy", w.accuracy, t.min_accuracy, (a, b) => a < b, "min"],
    ["error rate", w.error_rate, t.max_error_rate, (a, b) => a > b, "max"],
    ["mean latency (ms)", w.mean_latency_ms, t.max_latency_ms, (a, b) => a > b, "max"],
    ["mean confidence", w.mean_confidence, t.min_confidence, (a, b) => a < b, "min"],
    ["mean PSI", w.mean_psi, t.max_drift_psi, (a, b) => a > b, "max"],
  ];
  if (drop !== null) {
    rows.push(["accuracy drop vs " + (status.baseline_version || "?").split("_")[0], drop, t.max_accuracy_drop,
               (a, b) => a >= b, "below"]);
  }
  for (const [name, value, limit, breaks, kind] of rows) {
    const row = document.createElement("tr");
    const known = !empty && typeof value === "number";
    cell(row, name); cell(row, known ? fixed(value) : "-"); cell(row, kind + " " + fixed(limit));
    const over = known && typeof limit === "number" && breaks(value, limit);
    // No data is not good news: neutral, not green.
    cell(row, known ? (over ? "beyond threshold" : "ok") : "no data", known ? (over ? "bad" : "ok") : "muted");
    tbody.appendChild(row);
  }
  const row = document.createElement("tr");
  const full = typeof t.window === "number" && w.predictions >= t.window;
  cell(row, "predictions in window");
  cell(row, (w.predictions || 0) + " / " + t.window);
  cell(row, full ? "window full" : "window not full yet: window triggers wait", full ? "" : "muted");
  cell(row, status.fired ? "fired: " + status.fired.trigger : "", status.fired ? "bad" : "");
  tbody.appendChild(row);
}

function drawBackups(doc) {
  const tbody = body("backups");
  for (const b of doc.backups) {
    const row = document.createElement("tr");
    cell(row, b.id); cell(row, when(b.created_at)); cell(row, b.file_count);
    cell(row, typeof b.total_size === "number" ? size(b.total_size) : "-");
    cell(row, b.error ? "unreadable" : b.status + (b.verified_at ? " " + when(b.verified_at) : ""),
         b.status === "verified" ? "ok" : "bad");
    tbody.appendChild(row);
  }
  noneRow(tbody, "no backups: backup-manager backup DIR");
}

async function section(name, work) {
  try { await work(); } catch (e) { say(name + ": " + e.message, true); }
}

async function refresh() {
  await section("catalog", async () => {
    const catalog = await get("catalog");
    const select = document.getElementById("model");
    select.textContent = "";
    for (const m of catalog.models) {
      const option = document.createElement("option");
      option.value = m.model; option.textContent = m.model; select.appendChild(option);
      if (!state.model) state.model = m.model;
      if (m.model === state.model) state.metric = m.metric.name;
    }
    select.value = state.model;
  });
  await section("session", async () => {
    const session = await get("session");
    const auth = document.getElementById("auth");
    auth.textContent = session.authenticated ? "logged in: promote, roll back and verify work"
      : "read-only: open the login link the server printed to promote, roll back or verify";
    auth.className = session.authenticated ? "ok" : "muted";
  });
  let stages = {};
  let events = [];
  await section("stages", async () => { stages = (await get("stages")).stages; });
  await section("history", async () => { events = (await get("history")).events; drawTimeline(events); });
  await section("versions", async () => {
    const doc = await get("versions?limit=1000");
    // Something to roll back to: production was held by another version before.
    const canRollBack = events.some(e => e.stage === "production" && e.from);
    drawVersions(doc.versions, stages, canRollBack);
    drawChart(doc.versions);
  });
  await section("A/B tests", async () => drawAb((await get("ab")).tests));
  await section("monitoring", async () => drawMonitor(await get("monitor/production/status")));
  await section("backups", async () => drawBackups(await get("backups")));
  document.body.dataset.loaded = "yes";
}

document.getElementById("model").addEventListener("change", e => { state.model = e.target.value; refresh(); });
document.getElementById("timeline-more").addEventListener("click", () => { state.timelineAll = !state.timelineAll; refresh(); });
refresh();
