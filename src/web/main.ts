// The replay page: open a capture (file picker, drag and drop, or #capture=URL), list its
// messages (virtualised: only the rows in view exist in the DOM), pick a moment on the
// scrubber and see both tables, the pending requests and the anomalies at that moment.
// Decoding runs in a worker (worker.ts); this thread only keeps compact per-message columns.

import { mappingFlagsText } from "../replay/format.js";
import { CODE_INVALID, CODE_PEER, codeLabel } from "../replay/names.js";
import type { State } from "../replay/state.js";
import type { Columns, Done, FromWorker, RowText, ToWorker } from "./protocol.js";

const ROW_H = 22;
/** Browsers cap an element's height (Chromium near 33.5M px); beyond this the scroll is scaled. */
const MAX_SCROLL = 15_000_000;
const TABLE_LIMIT = 300;
const SUMMARY_CACHE = 20_000;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

// ---- per-message columns ------------------------------------------------------------------

class Column<T extends Float64Array | Uint32Array | Uint8Array> {
  n = 0;
  constructor(
    public a: T,
    private readonly make: (n: number) => T,
  ) {}
  append(src: ArrayLike<number>): void {
    if (this.n + src.length > this.a.length) {
      const b = this.make(Math.max(this.a.length * 2, this.n + src.length));
      b.set(this.a.subarray(0, this.n) as never);
      this.a = b;
    }
    this.a.set(src as never, this.n);
    this.n += src.length;
  }
}

function newColumns() {
  return {
    time: new Column(new Float64Array(4096), (n) => new Float64Array(n)),
    code: new Column(new Uint8Array(4096), (n) => new Uint8Array(n)),
    client: new Column(new Uint8Array(4096), (n) => new Uint8Array(n)),
    seq: new Column(new Uint32Array(4096), (n) => new Uint32Array(n)),
    pid: new Column(new Uint32Array(4096), (n) => new Uint32Array(n)),
    invalid: new Column(new Uint8Array(4096), (n) => new Uint8Array(n)),
  };
}

let cols = newColumns();
let count = 0;
/** Severity by message index (0 info, 1 warning, 2 error) for the anomalies found. */
let anomalies = new Map<number, number>();
let done: Done | undefined;
let selected = -1;

// ---- the worker ---------------------------------------------------------------------------

const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const send = (msg: ToWorker) => worker.postMessage(msg);
let nextId = 1;

function setStatus(status: "idle" | "loading" | "ready" | "error", text: string): void {
  document.body.dataset.status = status;
  $("status").textContent = text;
}

function reset(): void {
  cols = newColumns();
  count = 0;
  anomalies = new Map();
  done = undefined;
  selected = -1;
  summaries.clear();
  $("detail").replaceChildren();
  $("state").replaceChildren();
  renderList();
  drawTrack();
}

function openBlob(file: Blob, name: string): void {
  reset();
  setStatus("loading", `Opening ${name}…`);
  send({ type: "open", file, name });
}

worker.onmessage = (ev: MessageEvent<FromWorker>) => {
  const msg = ev.data;
  switch (msg.type) {
    case "loading":
      reset();
      $("file").textContent = msg.name;
      setStatus("loading", `Decoding ${msg.name}…`);
      break;
    case "progress":
      appendColumns(msg.columns);
      setStatus(
        "loading",
        `Decoding… ${Math.round((100 * msg.bytes) / Math.max(1, msg.total))}% · ${msg.messages.toLocaleString("en")} messages`,
      );
      $("progress").style.width = `${(100 * msg.bytes) / Math.max(1, msg.total)}%`;
      scheduleList();
      break;
    case "done":
      finished(msg);
      break;
    case "error":
      setStatus("error", msg.message);
      break;
    case "rows":
      gotRows(msg.id, msg.start, msg.rows);
      break;
    case "detail":
      if (msg.index === selected) showDetail(msg.label, msg.fields);
      break;
    case "state":
      if (msg.id === stateWanted) showState(msg.state);
      stateInFlight = false;
      if (statePending !== undefined) {
        const next = statePending;
        statePending = undefined;
        askState(next);
      }
      break;
  }
};

function appendColumns(c: Columns): void {
  cols.time.append(c.time);
  cols.code.append(c.code);
  cols.client.append(c.client);
  cols.seq.append(c.seq);
  cols.pid.append(c.pid);
  cols.invalid.append(c.invalid);
  count = cols.time.n;
}

function finished(d: Done): void {
  done = d;
  anomalies = new Map();
  d.anomalyIndex.forEach((i, k) => {
    anomalies.set(i, d.anomalySeverity[k] as number);
  });
  const s = d.stats;
  const side = s.netlinkMessages > 0 ? ` · netlink captured on the ${s.side} side${s.sideInferred ? " (inferred)" : ""}` : "";
  const invalid = s.invalid > 0 ? ` · ${s.invalid.toLocaleString("en")} malformed` : "";
  $("summary").textContent =
    `${s.messages.toLocaleString("en")} messages (${s.netlinkMessages.toLocaleString("en")} netlink, ${s.peerMessages.toLocaleString("en")} peer)` +
    ` in ${s.records.toLocaleString("en")} packets over ${d.duration.toFixed(6)} s${side}${invalid} · ${anomalies.size} anomalies`;
  $("warnings").textContent = d.warnings.join(" · ");
  setStatus("ready", `Decoded in ${(d.ms / 1000).toFixed(2)} s`);
  $("progress").style.width = "0";
  const scrub = $<HTMLInputElement>("scrub");
  scrub.disabled = count === 0;
  $<HTMLInputElement>("at").disabled = count === 0;
  renderList();
  drawTrack();
  setMoment({ time: d.duration }, false);
}

// ---- the virtual list ---------------------------------------------------------------------

const viewport = $("viewport");
const spacer = $("spacer");
const rowsBox = $("rows");
const pool: HTMLElement[] = [];
let listScheduled = false;

function scheduleList(): void {
  if (listScheduled) return;
  listScheduled = true;
  requestAnimationFrame(() => {
    listScheduled = false;
    renderList();
  });
}

function geometry() {
  const viewH = viewport.clientHeight;
  const visible = Math.ceil(viewH / ROW_H) + 1;
  const total = count * ROW_H;
  const scaled = total > MAX_SCROLL;
  const spacerH = scaled ? MAX_SCROLL : total;
  const top = viewport.scrollTop;
  let first: number;
  if (!scaled) first = Math.floor(top / ROW_H);
  else first = Math.round((top / Math.max(1, spacerH - viewH)) * Math.max(0, count - visible + 1));
  first = Math.max(0, Math.min(first, Math.max(0, count - visible + 1)));
  return { viewH, visible, scaled, spacerH, first, offset: scaled ? top : first * ROW_H };
}

function scrollToIndex(i: number): void {
  const g = geometry();
  if (!g.scaled) {
    const y = i * ROW_H;
    if (y < viewport.scrollTop || y + ROW_H > viewport.scrollTop + g.viewH) viewport.scrollTop = Math.max(0, y - g.viewH / 2);
  } else {
    viewport.scrollTop = (i / Math.max(1, count - g.visible + 1)) * (g.spacerH - g.viewH);
  }
  renderList();
}

const DIR_TEXT = ["client→daemon", "daemon→client"];

function rowElement(): HTMLElement {
  const row = document.createElement("div");
  row.className = "row";
  for (const c of ["idx", "time", "dir", "msg", "cl", "seq", "pid", "sum"]) {
    const cell = document.createElement("span");
    cell.className = c;
    row.append(cell);
  }
  row.addEventListener("click", () => {
    const i = Number(row.dataset.index);
    if (Number.isInteger(i)) select(i, true);
  });
  return row;
}

function renderList(): void {
  const g = geometry();
  spacer.style.height = `${g.spacerH}px`;
  rowsBox.style.transform = `translateY(${g.offset}px)`;
  const n = Math.min(g.visible, count - g.first);
  while (pool.length < g.visible) {
    const r = rowElement();
    pool.push(r);
    rowsBox.append(r);
  }
  const missing: number[] = [];
  pool.forEach((row, k) => {
    if (k >= n) {
      row.hidden = true;
      delete row.dataset.index;
      return;
    }
    const i = g.first + k;
    row.hidden = false;
    row.dataset.index = String(i);
    const code = cols.code.a[i] as number;
    const cells = row.children as HTMLCollectionOf<HTMLElement>;
    (cells[0] as HTMLElement).textContent = `#${i}`;
    (cells[1] as HTMLElement).textContent = (cols.time.a[i] as number).toFixed(6);
    const sum = summaries.get(i);
    (cells[2] as HTMLElement).textContent = code < 32 ? (DIR_TEXT[code >> 4] as string) : code >= CODE_PEER ? "peer" : (sum?.dir ?? "");
    (cells[3] as HTMLElement).textContent = codeLabel(code);
    const client = cols.client.a[i] as number;
    (cells[4] as HTMLElement).textContent = client === 255 ? "" : `c${client}`;
    const peer = code >= CODE_PEER;
    (cells[5] as HTMLElement).textContent = peer ? "" : String(cols.seq.a[i]);
    (cells[6] as HTMLElement).textContent = peer ? "" : String(cols.pid.a[i]);
    (cells[7] as HTMLElement).textContent = sum?.summary ?? "";
    if (sum === undefined) missing.push(i);
    const sev = anomalies.get(i);
    row.className =
      `row ${code < 32 ? `d${code >> 4}` : peer ? "peer" : "ctl"}` +
      (cols.invalid.a[i] || code === CODE_INVALID ? " invalid" : "") +
      (sev !== undefined ? ` anom anom${sev}` : "") +
      (i === selected ? " selected" : "") +
      (i === momentIndex ? " moment" : "");
    row.title = sev !== undefined ? "anomaly: see the list on the right" : "";
  });
  if (missing.length > 0 && done !== undefined) requestRows(missing[0] as number, (missing.at(-1) as number) - (missing[0] as number) + 1);
  $("count").textContent = count > 0 ? `${count.toLocaleString("en")} messages` : "";
}

viewport.addEventListener("scroll", scheduleList, { passive: true });
new ResizeObserver(() => {
  renderList();
  drawTrack();
}).observe(viewport);

// Summaries come from the worker for the rows in view only, and are kept for a while.
const summaries = new Map<number, RowText>();
let rowsWanted = 0;
let rowsTimer: ReturnType<typeof setTimeout> | undefined;

function requestRows(start: number, n: number): void {
  if (rowsTimer !== undefined) clearTimeout(rowsTimer);
  rowsTimer = setTimeout(() => {
    rowsWanted = nextId++;
    send({ type: "rows", id: rowsWanted, start, count: n });
  }, 15);
}

function gotRows(id: number, start: number, rows: RowText[]): void {
  if (id !== rowsWanted) return;
  rows.forEach((r, k) => {
    summaries.set(start + k, r);
  });
  if (summaries.size > SUMMARY_CACHE) {
    const drop = summaries.size - SUMMARY_CACHE;
    let k = 0;
    for (const key of summaries.keys()) {
      if (k++ >= drop) break;
      summaries.delete(key);
    }
  }
  renderList();
}

// ---- selection and details ----------------------------------------------------------------

function select(i: number, moveMoment: boolean): void {
  selected = i;
  send({ type: "detail", id: nextId++, index: i });
  if (moveMoment) setMoment({ index: i }, false);
  renderList();
}

function showDetail(label: string, fields: [string, string][]): void {
  const box = $("detail");
  const h = document.createElement("h3");
  h.textContent = `${label}`;
  const dl = document.createElement("dl");
  for (const [k, v] of fields) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    dl.append(dt, dd);
  }
  box.replaceChildren(h, dl);
}

// ---- the moment: scrubber, time box, state ------------------------------------------------

const scrub = $<HTMLInputElement>("scrub");
const atBox = $<HTMLInputElement>("at");
const SCRUB_STEPS = 10000;
let momentIndex = -1;
let stateWanted = 0;
let stateInFlight = false;
let statePending: { time?: number; index?: number } | undefined;

function askState(at: { time?: number; index?: number }): void {
  if (stateInFlight) {
    statePending = at;
    return;
  }
  stateInFlight = true;
  stateWanted = nextId++;
  send({ type: "state", id: stateWanted, limit: TABLE_LIMIT, ...at });
}

/** Moves the moment to a time or to a message; `follow` scrolls the list to it. */
function setMoment(at: { time?: number; index?: number }, follow: boolean): void {
  if (done === undefined) return;
  const duration = done.duration;
  const time = at.index !== undefined ? (cols.time.a[at.index] as number) : (at.time ?? duration);
  scrub.value = String(duration > 0 ? Math.round((time / duration) * SCRUB_STEPS) : SCRUB_STEPS);
  if (document.activeElement !== atBox) atBox.value = time.toFixed(6);
  momentIndex = at.index ?? lastIndexAt(time);
  if (follow && momentIndex >= 0) scrollToIndex(momentIndex);
  else renderList();
  drawTrack();
  askState(at.index !== undefined ? { index: at.index } : { time });
}

function lastIndexAt(time: number): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cols.time.a[mid] as number) <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

scrub.addEventListener("input", () => {
  if (done === undefined) return;
  setMoment({ time: (Number(scrub.value) / SCRUB_STEPS) * done.duration }, true);
});
atBox.addEventListener("change", () => {
  const t = Number(atBox.value);
  if (Number.isFinite(t)) setMoment({ time: t }, true);
});

function table(headers: string[], rows: string[][], total: number, id: string, title: string): HTMLElement {
  const section = document.createElement("section");
  section.id = id;
  const h = document.createElement("h3");
  h.textContent = `${title} (${total.toLocaleString("en")})`;
  section.append(h);
  if (rows.length === 0) return section;
  const t = document.createElement("table");
  const head = t.createTHead().insertRow();
  for (const name of headers) {
    const th = document.createElement("th");
    th.textContent = name;
    head.append(th);
  }
  const body = t.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    for (const c of r) tr.insertCell().textContent = c;
  }
  section.append(t);
  if (total > rows.length) {
    const more = document.createElement("p");
    more.className = "more";
    more.textContent = `… and ${(total - rows.length).toLocaleString("en")} more`;
    section.append(more);
  }
  return section;
}

const at6 = (t: number, i: number) => `${t.toFixed(6)} #${i}`;

function showState(s: State): void {
  const box = $("state");
  const title = document.createElement("h2");
  title.id = "moment";
  title.textContent =
    s.index < 0 ? `At ${s.time.toFixed(6)} s: before the first message` : `At ${s.time.toFixed(6)} s, after message #${s.index}`;
  const parts: HTMLElement[] = [title];
  const d = s.daemon;
  const daemon = document.createElement("p");
  daemon.id = "daemon";
  daemon.textContent =
    d.pid === null && d.version === null
      ? "Daemon: not seen yet"
      : `Daemon: port ${d.pid ?? "unknown"}, ABI ${d.version ?? (d.offered !== undefined ? `${d.offered} offered` : "unknown")} — since ${at6(d.since, d.sinceIndex)} (${d.reason})`;
  if (done?.hasNetlink !== false) {
    parts.push(daemon);
    parts.push(
      table(
        ["client", "local", "mapped", "flags", "from", "since"],
        s.mappings.map((m) => [String(m.client), m.local, m.mapped, mappingFlagsText(m.flags), m.source, at6(m.created, m.createdAt)]),
        s.counts.mappings,
        "mappings",
        "Mappings",
      ),
      table(
        ["client", "local", "mapped local", "remote", "mapped remote", "received"],
        s.remoteInfo.map((r) => [String(r.client), r.local, r.mappedLocal, r.remote, r.mappedRemote, at6(r.time, r.index)]),
        s.counts.remoteInfo,
        "remote",
        "Remote info",
      ),
      table(
        ["seq", "client", "request", "for", "sent", "waiting"],
        s.pending.map((r) => [
          String(r.seq),
          String(r.client),
          r.label,
          r.subject,
          at6(r.sent, r.sentAt),
          `${(s.time - r.sent).toFixed(3)} s${r.overdue ? " — timed out" : ""}`,
        ]),
        s.counts.pending,
        "pending",
        "Pending requests",
      ),
    );
  }
  if (done?.hasPeer) {
    parts.push(
      table(
        ["handle", "connecting", "mapped", "accepting", "requests", "since"],
        s.peerOpen.map((x) => [x.assochandle, x.cp, x.mappedCp, x.ap, String(x.requests), at6(x.first, x.firstAt)]),
        s.counts.peerOpen,
        "peer",
        "Open peer exchanges",
      ),
    );
  }
  const an = document.createElement("section");
  an.id = "anomalies";
  const ah = document.createElement("h3");
  ah.textContent = `Anomalies (${s.counts.anomalies.toLocaleString("en")})`;
  const ul = document.createElement("ul");
  for (const a of s.anomalies) {
    const li = document.createElement("li");
    li.className = `sev-${a.severity}`;
    li.textContent = `${at6(a.time, a.index)} ${a.severity}: ${a.text}`;
    li.addEventListener("click", () => {
      select(a.index, false);
      scrollToIndex(a.index);
    });
    ul.append(li);
  }
  an.append(ah, ul);
  parts.push(an);
  box.replaceChildren(...parts);
  document.body.dataset.moment = String(s.index);
}

// ---- the track: message density and anomalies over time -----------------------------------

const track = $<HTMLCanvasElement>("track");

function drawTrack(): void {
  const w = Math.max(1, track.clientWidth);
  const h = Math.max(1, track.clientHeight);
  const dpr = window.devicePixelRatio || 1;
  track.width = Math.round(w * dpr);
  track.height = Math.round(h * dpr);
  const ctx = track.getContext("2d");
  if (ctx === null) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  if (done === undefined || count === 0) return;
  const duration = Math.max(done.duration, 1e-9);
  const bins = new Uint32Array(Math.max(1, Math.floor(w)));
  const t = cols.time.a;
  // Sampled for large captures: the shape is what matters.
  const step = Math.max(1, Math.floor(count / 200_000));
  for (let i = 0; i < count; i += step) {
    const b = Math.min(bins.length - 1, Math.floor(((t[i] as number) / duration) * bins.length));
    bins[b] = (bins[b] as number) + step;
  }
  let max = 1;
  for (const v of bins) max = Math.max(max, v);
  ctx.fillStyle = "#9db4d0";
  bins.forEach((v, x) => {
    if (v === 0) return;
    const bh = Math.max(1, (Math.log1p(v) / Math.log1p(max)) * (h - 6));
    ctx.fillRect(x, h - bh, 1, bh);
  });
  for (const [i, sev] of anomalies) {
    const x = ((t[i] as number) / duration) * w;
    ctx.fillStyle = sev === 2 ? "#c62828" : sev === 1 ? "#ef8f00" : "#7b8794";
    ctx.fillRect(Math.min(w - 2, x), 0, 2, 6);
  }
  if (momentIndex >= 0) {
    const x = ((t[momentIndex] as number) / duration) * w;
    ctx.fillStyle = "#1b4f9c";
    ctx.fillRect(Math.min(w - 2, x), 0, 2, h);
  }
}

// ---- opening captures ---------------------------------------------------------------------

const picker = $<HTMLInputElement>("picker");
$("open").addEventListener("click", () => picker.click());
picker.addEventListener("change", () => {
  const f = picker.files?.[0];
  if (f) openBlob(f, f.name);
  picker.value = "";
});

let dragDepth = 0;
window.addEventListener("dragenter", (e) => {
  e.preventDefault();
  dragDepth++;
  document.body.classList.add("dragging");
});
window.addEventListener("dragleave", () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) document.body.classList.remove("dragging");
});
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("drop", (e) => {
  e.preventDefault();
  dragDepth = 0;
  document.body.classList.remove("dragging");
  const f = e.dataTransfer?.files[0];
  if (f) openBlob(f, f.name);
});

window.addEventListener("keydown", (e) => {
  if (done === undefined || e.target instanceof HTMLInputElement) return;
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    const i = Math.max(0, Math.min(count - 1, (selected < 0 ? momentIndex : selected) + (e.key === "ArrowDown" ? 1 : -1)));
    select(i, true);
    scrollToIndex(i);
  }
});

const hash = new URLSearchParams(location.hash.slice(1));
const preset = hash.get("capture");
if (preset) {
  setStatus("loading", `Loading ${preset}…`);
  send({ type: "openUrl", url: preset });
} else {
  setStatus("idle", "Open a capture (pcap or pcapng) with the button, or drop it on this page.");
}
