// The replay page: open captures (file picker, drag and drop, or #capture=URL; several become one
// timeline merged by timestamp), list their messages (virtualised: only the rows in view exist
// in the DOM), filter them with the language of `iwpm decode -Y`, see a message's fields and
// bytes, follow a request to its reply, pick a moment on the scrubber and see both tables, the
// pending requests and the anomalies then. Decoding runs in two workers (worker.ts): one lists
// the messages (the page is ready to scroll, read and filter once it has), the other replays them
// for the state, the anomalies and the reply links ("analysing…" until it has), beside the
// listing or after it (ANALYSE_BESIDE). This thread keeps only compact per-message columns.

import { secondsBetween } from "../capture/pcap.js";
import type { ByteRange } from "../replay/format.js";
import { isoTime, mappingFlagsText } from "../replay/format.js";
import { CODE_INVALID, CODE_PEER, codeLabel } from "../replay/names.js";
import type { State } from "../replay/state.js";
import type { Analysed, Columns, Detail, FromWorker, Listed, OpenFile, RowText, ToWorker } from "./protocol.js";

const ROW_H = 22;
/** Browsers cap an element's height (Chromium near 33.5M px); beyond this the scroll is scaled. */
const MAX_SCROLL = 15_000_000;
const TABLE_LIMIT = 300;
const SUMMARY_CACHE = 20_000;
const HEX_ROW = 16;
const NS_PER_S = 1e9;
/** The narrowest a column can be dragged to. */
const MIN_COLUMN = 24;
/** The narrowest the details side and the list can be made with the splitter. */
const MIN_ASIDE = 240;
const MIN_LIST = 320;
/** The summary column takes the rest of the width, and at least this. */
const MIN_SUMMARY = 120;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

// ---- per-message columns ------------------------------------------------------------------

class Column<T extends Float64Array | Uint32Array | Uint16Array | Uint8Array> {
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
  const u8 = () => new Column(new Uint8Array(4096), (n) => new Uint8Array(n));
  const u32 = () => new Column(new Uint32Array(4096), (n) => new Uint32Array(n));
  return {
    time: new Column(new Float64Array(4096), (n) => new Float64Array(n)),
    code: u8(),
    client: u8(),
    seq: u32(),
    pid: u32(),
    invalid: u8(),
    frame: u32(),
    part: new Column(new Uint16Array(4096), (n) => new Uint16Array(n)),
    file: u8(),
  };
}

/** The opening shown; the worker stamps every answer with the one it belongs to. */
let gen = 0;
let cols = newColumns();
let count = 0;
/** Severity by message index (0 info, 1 warning, 2 error) for the anomalies found. */
let anomalies = new Map<number, number>();
/** Every message listed; then the replay's results. */
let done: Listed | undefined;
let analysed: Analysed | undefined;
let selected = -1;
/** The messages the filter keeps, in order; null shows every message. */
let view: Uint32Array | null = null;
let filterWanted = 0;

// ---- the worker ---------------------------------------------------------------------------

const workerUrl = new URL("./worker.js", import.meta.url);
/** Lists the messages, then answers for rows, details and filters. */
const lister = new Worker(workerUrl, { type: "module" });
/** Replays the messages, then answers for states. */
const analyst = new Worker(workerUrl, { type: "module" });
const send = (msg: ToWorker) => lister.postMessage(msg);
let nextId = 1;

function setStatus(status: "idle" | "loading" | "ready" | "error", text: string): void {
  document.body.dataset.status = status;
  $("status").textContent = text;
}

/** Forgets everything about the capture shown: a new opening starts from an empty page. */
function reset(): void {
  gen++;
  cols = newColumns();
  count = 0;
  anomalies = new Map();
  done = undefined;
  analysed = undefined;
  analyseNext = undefined;
  selected = -1;
  view = null;
  filterWanted = 0;
  momentIndex = -1;
  summaries.clear();
  if (rowsTimer !== undefined) clearTimeout(rowsTimer);
  rowsTimer = undefined;
  rowsWanted = 0;
  stateWanted = 0;
  stateInFlight = false;
  statePending = undefined;
  for (const id of ["detail", "hex", "state", "summary", "warnings", "file", "count", "filter-status"]) $(id).replaceChildren();
  delete document.body.dataset.moment;
  delete document.body.dataset.analysis;
  delete document.body.dataset.filter;
  filterBox.value = "";
  filterBox.classList.remove("bad");
  filterBox.removeAttribute("aria-invalid");
  filterBox.disabled = true;
  $<HTMLButtonElement>("filter-clear").disabled = true;
  scrub.disabled = true;
  atBox.disabled = true;
  atBox.value = "";
  $("progress").style.width = "0";
  $("list").classList.remove("multi");
  viewport.scrollTop = 0;
  viewport.scrollLeft = 0;
  pool.length = 0;
  rowsBox.replaceChildren();
  layoutColumns();
  renderList();
  drawTrack();
}

function openFiles(files: File[]): void {
  if (files.length === 0) return;
  reset();
  const names = files.map((f) => f.name).join(" + ");
  setStatus("loading", `Opening ${names}…`);
  start(files.map((f) => ({ blob: f, name: f.name })));
}

/**
 * With logical CPUs to spare for both workers, the page's own thread and the browser's reads, the
 * replay runs beside the listing; with fewer it would slow the listing down, so it starts once
 * every message is listed.
 */
const ANALYSE_BESIDE = navigator.hardwareConcurrency >= 4;
/** The opening the analyst takes once the list is whole. */
let analyseNext: OpenFile[] | undefined;

function start(files: OpenFile[]): void {
  document.body.dataset.analysis = "running";
  lister.postMessage({ type: "open", gen, files, role: "list" } satisfies ToWorker);
  if (ANALYSE_BESIDE) analyse(files);
  else analyseNext = files;
}

function analyse(files: OpenFile[]): void {
  analyst.postMessage({ type: "open", gen, files, role: "analysis" } satisfies ToWorker);
}

/** Opens a capture by URL (#capture=); an opening made while it downloads wins. */
async function openUrl(url: string): Promise<void> {
  reset();
  const mine = gen;
  setStatus("loading", `Loading ${url}…`);
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`cannot load ${url}: HTTP ${res.status}`);
    const blob = await res.blob();
    if (mine !== gen) return;
    start([{ blob, name: decodeURIComponent(url.split("/").pop() ?? url) }]);
  } catch (err) {
    if (mine === gen) setStatus("error", err instanceof Error ? err.message : String(err));
  }
}

lister.onmessage = analyst.onmessage = (ev: MessageEvent<FromWorker>) => {
  const msg = ev.data;
  if (msg.gen !== gen) return; // about a capture no longer shown
  switch (msg.type) {
    case "loading":
      $("file").textContent = msg.names.join(" + ");
      $("list").classList.toggle("multi", msg.names.length > 1);
      layoutColumns();
      setStatus("loading", `Decoding ${msg.names.join(" + ")}…`);
      break;
    case "progress":
      if (msg.columns) appendColumns(msg.columns);
      setStatus(
        "loading",
        `Decoding… ${Math.round((100 * msg.bytes) / Math.max(1, msg.total))}% · ${msg.messages.toLocaleString("en")} messages`,
      );
      $("progress").style.width = `${(100 * msg.bytes) / Math.max(1, msg.total)}%`;
      scheduleList();
      break;
    case "listed":
      finished(msg);
      break;
    case "analysing":
      if (done === undefined) break;
      setStatus("ready", `${decodedText(done)} · analysing… ${Math.round(100 * msg.fraction)}%`);
      $("progress").style.width = `${100 * msg.fraction}%`;
      break;
    case "analysed":
      gotAnalysis(msg);
      break;
    case "error":
      // A failed replay ends the analysis too, so nothing waits for it.
      if (ev.target === analyst) document.body.dataset.analysis = "failed";
      setStatus("error", msg.message);
      break;
    case "rows":
      gotRows(msg.id, msg.indices, msg.rows);
      break;
    case "detail":
      if (msg.index === selected) showDetail(msg);
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
    case "filtered":
      if (msg.id === filterWanted) filtered(msg.indices);
      break;
    case "filterProgress":
      if (msg.id === filterWanted) $("filter-status").textContent = `Filtering… ${Math.round(100 * msg.fraction)}%`;
      break;
    case "filterError":
      if (msg.id === filterWanted) filterFailed(msg.message, msg.position);
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
  cols.frame.append(c.frame);
  cols.part.append(c.part);
  cols.file.append(c.file);
  count = cols.time.n;
}

const decodedText = (d: Listed) => `Decoded in ${(d.ms / 1000).toFixed(2)} s`;

function finished(d: Listed): void {
  done = d;
  if (analyseNext !== undefined) analyse(analyseNext);
  analyseNext = undefined;
  summaryLine();
  $("warnings").textContent = d.warnings.join(" · ");
  $("progress").style.width = "0";
  filterBox.disabled = count === 0;
  renderList();
  drawTrack();
  if (analysed !== undefined) {
    analysisShown();
    return;
  }
  setStatus("ready", `${decodedText(d)} · analysing…`);
  const wait = document.createElement("p");
  wait.id = "analysing";
  wait.textContent = "Analysing: the state over time, the anomalies and the reply links come when the replay ends.";
  $("state").replaceChildren(wait);
}

function gotAnalysis(a: Analysed): void {
  analysed = a;
  anomalies = new Map();
  a.anomalyIndex.forEach((i, k) => {
    anomalies.set(i, a.anomalySeverity[k] as number);
  });
  if (done !== undefined) analysisShown();
}

/** The analysis on the page, once every message is listed too. */
function analysisShown(): void {
  const d = done as Listed;
  const a = analysed as Analysed;
  // The filter's anomaly field needs the kinds; the lister waits for them when asked before.
  send({ type: "kinds", gen, index: a.kindIndex, kinds: a.kindNames });
  summaryLine();
  setStatus("ready", `${decodedText(d)} · analysed in ${(a.ms / 1000).toFixed(2)} s`);
  $("progress").style.width = "0";
  document.body.dataset.analysis = "done";
  scrub.disabled = count === 0;
  atBox.disabled = count === 0;
  renderList();
  drawTrack();
  setMoment(selected >= 0 ? { index: selected } : { time: d.duration }, false);
  // A message selected before: its details get their reply link.
  if (selected >= 0) send({ type: "detail", gen, index: selected });
}

function summaryLine(): void {
  const d = done as Listed;
  const sum = (f: (s: Listed["stats"][number]) => number) => d.stats.reduce((n, s) => n + f(s), 0).toLocaleString("en");
  const sides = d.stats
    .map((s, k) =>
      s.netlinkMessages > 0 ? `${d.names.length > 1 ? `${d.names[k]}: ` : ""}${s.side}${s.sideInferred ? " (inferred)" : ""}` : "",
    )
    .filter(Boolean);
  const side = sides.length > 0 ? ` · netlink captured on the ${sides.join(", ")} side` : "";
  const invalid = d.stats.some((s) => s.invalid > 0) ? ` · ${sum((s) => s.invalid)} malformed` : "";
  const files = d.names.length > 1 ? ` from ${d.names.length} captures merged by time` : "";
  $("summary").textContent =
    `${sum((s) => s.messages)} messages (${sum((s) => s.netlinkMessages)} netlink, ${sum((s) => s.peerMessages)} peer)` +
    ` in ${sum((s) => s.records)} packets${files} over ${d.duration.toFixed(6)} s${side}${invalid} · ` +
    (analysed === undefined ? "analysing…" : `${anomalies.size} anomalies`);
}

// ---- columns of the list ------------------------------------------------------------------

interface ColumnDef {
  key: string;
  title: string;
  help: string;
  width: number;
}

const COLUMNS: ColumnDef[] = [
  { key: "idx", title: "#", help: "the message's index (the state pane's #)", width: 56 },
  { key: "frame", title: "frame", help: "capture record in its file, from 1, as iwpm decode and tshark number them", width: 56 },
  { key: "time", title: "time", help: "", width: 84 },
  { key: "file", title: "file", help: "the capture the message comes from", width: 110 },
  { key: "dir", title: "direction", help: "", width: 110 },
  { key: "msg", title: "message", help: "", width: 160 },
  { key: "cl", title: "cl", help: "the client index of the netlink type", width: 34 },
  { key: "seq", title: "seq", help: "nlmsg_seq", width: 88 },
  { key: "pid", title: "pid", help: "nlmsg_pid", width: 96 },
  {
    key: "reply",
    title: "reply",
    help: "a request's reply or a reply's request (click to go there), with the time between them",
    width: 122,
  },
  { key: "sum", title: "summary", help: "", width: 0 },
];
const SUMMARY = COLUMNS.length - 1;
const TIME_WIDTH: Record<TimeFormat, number> = { r: 84, d: 84, dd: 84, a: 232, e: 160 };
const TIME_TITLE: Record<TimeFormat, string> = {
  r: "time (s)",
  d: "Δ previous (s)",
  dd: "Δ shown (s)",
  a: "time (UTC)",
  e: "time (s since 1970)",
};
const widths = COLUMNS.map((c) => c.width);
const list = $("list");
const head = $("head");

function shown(k: number): boolean {
  return (COLUMNS[k] as ColumnDef).key !== "file" || list.classList.contains("multi");
}

/** The grid the head and every row share, from the widths (dragged or default). */
function layoutColumns(): void {
  const parts: string[] = [];
  let fixed = 0;
  COLUMNS.forEach((_, k) => {
    if (!shown(k)) return;
    if (k === SUMMARY) parts.push(`minmax(${MIN_SUMMARY}px, 1fr)`);
    else {
      parts.push(`${widths[k]}px`);
      fixed += widths[k] as number;
    }
  });
  list.style.setProperty("--grid", parts.join(" "));
  list.style.setProperty("--min-width", `${fixed + MIN_SUMMARY}px`);
  head.querySelectorAll<HTMLElement>("span[data-col]").forEach((cell) => {
    cell.hidden = !shown(Number(cell.dataset.col));
  });
  ((head.querySelector(".time") as HTMLElement).firstChild as Text).data = TIME_TITLE[timeFormat];
  for (const row of pool) for (const [k, cell] of [...row.children].entries()) (cell as HTMLElement).hidden = !shown(k);
}

function buildHead(): void {
  COLUMNS.forEach((c, k) => {
    const cell = document.createElement("span");
    cell.className = c.key;
    cell.dataset.col = String(k);
    cell.append(c.title);
    if (c.help) cell.title = `${c.title}: ${c.help}`;
    if (k !== SUMMARY) {
      const grip = document.createElement("span");
      grip.className = "grip";
      grip.title = "drag to resize the column";
      grip.addEventListener("pointerdown", (e) => startResize(e, k, grip));
      cell.append(grip);
    }
    head.append(cell);
  });
}

/** Follows a drag of `handle` from `e`, calling `to` with the distance moved. */
function drag(e: PointerEvent, handle: HTMLElement, to: (dx: number) => void): void {
  e.preventDefault();
  handle.setPointerCapture(e.pointerId);
  const x0 = e.clientX;
  const move = (ev: PointerEvent) => to(ev.clientX - x0);
  const up = () => {
    handle.removeEventListener("pointermove", move);
    handle.removeEventListener("pointerup", up);
  };
  handle.addEventListener("pointermove", move);
  handle.addEventListener("pointerup", up);
}

function startResize(e: PointerEvent, k: number, grip: HTMLElement): void {
  const w0 = widths[k] as number;
  drag(e, grip, (dx) => {
    widths[k] = Math.max(MIN_COLUMN, Math.round(w0 + dx));
    layoutColumns();
  });
}

// The splitter between the list and the details: the details get what the list gives up.
const split = $("split");
split.addEventListener("pointerdown", (e) => {
  const aside = document.querySelector("aside") as HTMLElement;
  const w0 = aside.getBoundingClientRect().width;
  const max = window.innerWidth - MIN_LIST;
  drag(e, split, (dx) => {
    const w = Math.max(MIN_ASIDE, Math.min(max, Math.round(w0 - dx)));
    (document.querySelector("main") as HTMLElement).style.setProperty("--aside", `${w}px`);
  });
});

// ---- the time column ----------------------------------------------------------------------

type TimeFormat = "r" | "d" | "dd" | "a" | "e";
const timeSelect = $<HTMLSelectElement>("timefmt");
let timeFormat: TimeFormat = "r";

/** The capture timestamp of a message: the origin plus its offset, to the nanosecond. */
function timestampOf(i: number): { sec: number; nsec: number } {
  const origin = done?.origin ?? { sec: 0, nsec: 0 };
  const ns = origin.nsec + Math.round((cols.time.a[i] as number) * NS_PER_S);
  return { sec: origin.sec + Math.floor(ns / NS_PER_S), nsec: ns % NS_PER_S };
}

/** The time cell of message `i`, shown at position `k` of the view. */
function timeText(i: number, k: number): string {
  const t = cols.time.a;
  switch (timeFormat) {
    case "d":
      return (i > 0 ? secondsBetween(timestampOf(i - 1), timestampOf(i)) : 0).toFixed(6);
    case "dd":
      return (k > 0 ? secondsBetween(timestampOf(viewAt(k - 1)), timestampOf(i)) : 0).toFixed(6);
    case "a": {
      const ts = timestampOf(i);
      return isoTime(ts.sec, ts.nsec);
    }
    case "e": {
      const ts = timestampOf(i);
      return `${ts.sec}.${String(ts.nsec).padStart(9, "0")}`;
    }
    default:
      return (t[i] as number).toFixed(6);
  }
}

timeSelect.addEventListener("change", () => {
  timeFormat = timeSelect.value as TimeFormat;
  widths[COLUMNS.findIndex((c) => c.key === "time")] = TIME_WIDTH[timeFormat];
  layoutColumns();
  renderList();
});

// ---- the virtual list ---------------------------------------------------------------------

const viewport = $("viewport");
const spacer = $("spacer");
const rowsBox = $("rows");
const pool: HTMLElement[] = [];
let listScheduled = false;

const viewLength = () => (view === null ? count : view.length);
const viewAt = (k: number) => (view === null ? k : (view[k] as number));

/** The first position in the view whose message is at or after `i`. */
function lowerBound(i: number): number {
  if (view === null) return Math.min(i, count);
  let lo = 0;
  let hi = view.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((view[mid] as number) < i) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Where message `i` is in the view, −1 when the filter hides it. */
function positionOf(i: number): number {
  const k = lowerBound(i);
  return k < viewLength() && viewAt(k) === i ? k : -1;
}

function scheduleList(): void {
  if (listScheduled) return;
  listScheduled = true;
  requestAnimationFrame(() => {
    listScheduled = false;
    renderList();
  });
}

function geometry() {
  const n = viewLength();
  const viewH = viewport.clientHeight;
  const visible = Math.ceil(viewH / ROW_H) + 1;
  const total = n * ROW_H;
  const scaled = total > MAX_SCROLL;
  const spacerH = scaled ? MAX_SCROLL : total;
  const top = viewport.scrollTop;
  let first: number;
  if (!scaled) first = Math.floor(top / ROW_H);
  else first = Math.round((top / Math.max(1, spacerH - viewH)) * Math.max(0, n - visible + 1));
  first = Math.max(0, Math.min(first, Math.max(0, n - visible + 1)));
  return { n, viewH, visible, scaled, spacerH, first, offset: scaled ? top : first * ROW_H };
}

/** Scrolls so that view position `k` is in sight. */
function scrollToPosition(k: number): void {
  const g = geometry();
  if (!g.scaled) {
    const y = k * ROW_H;
    if (y < viewport.scrollTop || y + ROW_H > viewport.scrollTop + g.viewH) viewport.scrollTop = Math.max(0, y - g.viewH / 2);
  } else {
    viewport.scrollTop = (k / Math.max(1, g.n - g.visible + 1)) * (g.spacerH - g.viewH);
  }
  renderList();
}

/** Scrolls to message `i`; when the filter hides it, to where it would be. */
function scrollToIndex(i: number): void {
  scrollToPosition(Math.min(lowerBound(i), Math.max(0, viewLength() - 1)));
}

const DIR_TEXT = ["client→daemon", "daemon→client"];

function rowElement(): HTMLElement {
  const row = document.createElement("div");
  row.className = "row";
  COLUMNS.forEach((c, k) => {
    const cell = document.createElement("span");
    cell.className = c.key;
    cell.hidden = !shown(k);
    row.append(cell);
  });
  row.addEventListener("click", (e) => {
    const i = Number(row.dataset.index);
    if (!Number.isInteger(i)) return;
    if ((e.target as HTMLElement).classList.contains("reply") && analysed !== undefined && (analysed.partner[i] as number) >= 0) {
      follow(i);
      return;
    }
    select(i, true);
  });
  return row;
}

/** Sets a cell's text; its title holds the same text, so a cut value is readable on hover. */
function put(cell: HTMLElement, text: string, title = text): void {
  if (cell.textContent !== text) cell.textContent = text;
  if (cell.title !== title) cell.title = title;
}

/** The time from message `i` to message `j`, "1.234 ms" and the like, from their nanosecond timestamps. */
function between(i: number, j: number): string {
  const a = timestampOf(i);
  const b = timestampOf(j);
  const ns = Math.abs((b.sec - a.sec) * NS_PER_S + (b.nsec - a.nsec));
  if (ns < 1e6) return `${(ns / 1e3).toFixed(0)} µs`;
  if (ns < NS_PER_S) return `${(ns / 1e6).toFixed(3)} ms`;
  return `${(ns / NS_PER_S).toFixed(3)} s`;
}

/** The reply cell of message `i`, and in words: "answered by message #7, 1.000 ms later". */
function replyText(i: number): [string, string] {
  const p = analysed === undefined ? -1 : (analysed.partner[i] as number);
  if (p < 0) return ["", ""];
  const dt = between(i, p);
  return p > i ? [`→ #${p} ${dt}`, `answered by message #${p}, ${dt} later`] : [`← #${p} ${dt}`, `answers message #${p}, ${dt} earlier`];
}

function frameText(i: number): string {
  const part = cols.part.a[i] as number;
  return part > 0 ? `${cols.frame.a[i]}.${part}` : String(cols.frame.a[i]);
}

function renderList(): void {
  const g = geometry();
  spacer.style.height = `${g.spacerH}px`;
  rowsBox.style.transform = `translateY(${g.offset}px)`;
  const n = Math.min(g.visible, g.n - g.first);
  while (pool.length < g.visible) {
    const r = rowElement();
    pool.push(r);
    rowsBox.append(r);
  }
  const missing: number[] = [];
  pool.forEach((row, j) => {
    if (j >= n) {
      if (row.hidden) return;
      row.hidden = true;
      delete row.dataset.index;
      // nothing of a message stays in the DOM out of view
      row.className = "row";
      for (const cell of row.children) put(cell as HTMLElement, "");
      return;
    }
    const k = g.first + j;
    const i = viewAt(k);
    row.hidden = false;
    row.dataset.index = String(i);
    const code = cols.code.a[i] as number;
    const cells = row.children as HTMLCollectionOf<HTMLElement>;
    const cell = (key: string) => cells[COLUMNS.findIndex((c) => c.key === key)] as HTMLElement;
    const sev = anomalies.get(i);
    put(cell("idx"), `#${i}`, sev !== undefined ? `#${i}: an anomaly, see the list on the right` : `#${i}`);
    put(cell("frame"), frameText(i));
    put(cell("time"), timeText(i, k));
    put(cell("file"), done?.names[cols.file.a[i] as number] ?? "");
    const sum = summaries.get(i);
    put(cell("dir"), code < 32 ? (DIR_TEXT[code >> 4] as string) : code >= CODE_PEER ? "peer" : (sum?.dir ?? ""));
    put(cell("msg"), codeLabel(code));
    const client = cols.client.a[i] as number;
    put(cell("cl"), client === 255 ? "" : `c${client}`);
    const peer = code >= CODE_PEER;
    put(cell("seq"), peer ? "" : String(cols.seq.a[i]));
    put(cell("pid"), peer ? "" : String(cols.pid.a[i]));
    const [reply, words] = replyText(i);
    put(cell("reply"), reply, reply === "" ? "" : `${reply}: ${words} (click to go there)`);
    put(cell("sum"), sum?.summary ?? "");
    if (sum === undefined) missing.push(i);
    row.className =
      `row ${code < 32 ? `d${code >> 4}` : peer ? "peer" : "ctl"}` +
      (cols.invalid.a[i] || code === CODE_INVALID ? " invalid" : "") +
      (sev !== undefined ? ` anom anom${sev}` : "") +
      (i === selected ? " selected" : "") +
      (i === momentIndex ? " moment" : "");
  });
  // How many rows in view still wait for their text from the worker.
  rowsBox.dataset.pending = String(missing.length);
  if (missing.length > 0 && done !== undefined) requestRows(missing);
  const total = count.toLocaleString("en");
  $("count").textContent =
    count === 0 ? "" : view === null ? `${total} messages` : `${view.length.toLocaleString("en")} of ${total} messages`;
}

viewport.addEventListener("scroll", scheduleList, { passive: true });
// The head scrolls sideways with the rows when the columns are wider than the list.
viewport.addEventListener("scroll", () => {
  head.scrollLeft = viewport.scrollLeft;
});
new ResizeObserver(() => {
  renderList();
  drawTrack();
}).observe(viewport);

// Summaries come from the worker for the rows in view only, and are kept for a while.
const summaries = new Map<number, RowText>();
let rowsWanted = 0;
let rowsTimer: ReturnType<typeof setTimeout> | undefined;

function requestRows(indices: number[]): void {
  if (rowsTimer !== undefined) clearTimeout(rowsTimer);
  rowsTimer = setTimeout(() => {
    rowsTimer = undefined;
    rowsWanted = nextId++;
    send({ type: "rows", gen, id: rowsWanted, indices });
  }, 15);
}

function gotRows(id: number, indices: number[], rows: RowText[]): void {
  if (id !== rowsWanted) return;
  rows.forEach((r, k) => {
    summaries.set(indices[k] as number, r);
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

// ---- the filter ---------------------------------------------------------------------------

const filterBox = $<HTMLInputElement>("filter");

function applyFilter(): void {
  if (done === undefined) return;
  const expr = filterBox.value.trim();
  filterBox.classList.remove("bad");
  filterBox.removeAttribute("aria-invalid");
  if (expr === "") {
    clearFilter();
    return;
  }
  filterWanted = nextId++;
  document.body.dataset.filter = "running";
  $("filter-status").textContent = "Filtering…";
  send({ type: "filter", gen, id: filterWanted, expr });
}

function filtered(indices: Uint32Array): void {
  view = indices;
  document.body.dataset.filter = "applied";
  $<HTMLButtonElement>("filter-clear").disabled = false;
  $("filter-status").textContent = `${indices.length.toLocaleString("en")} of ${count.toLocaleString("en")} match`;
  afterViewChange();
}

function filterFailed(message: string, position: number): void {
  filterBox.classList.add("bad");
  filterBox.setAttribute("aria-invalid", "true");
  filterBox.focus();
  filterBox.setSelectionRange(position, filterBox.value.length);
  document.body.dataset.filter = "error";
  $("filter-status").textContent = `Not a filter: ${message}`;
}

function clearFilter(): void {
  filterWanted = nextId++;
  view = null;
  filterBox.value = "";
  delete document.body.dataset.filter;
  $<HTMLButtonElement>("filter-clear").disabled = true;
  $("filter-status").textContent = "";
  afterViewChange();
}

/** Keeps the selected message in sight when the filter changes, or goes back to the top. */
function afterViewChange(): void {
  if (selected >= 0 && positionOf(selected) >= 0) scrollToPosition(positionOf(selected));
  else {
    viewport.scrollTop = 0;
    renderList();
  }
}

$("filterline").addEventListener("submit", (e) => {
  e.preventDefault();
  applyFilter();
});
$("filter-clear").addEventListener("click", clearFilter);

// ---- selection, details and bytes ---------------------------------------------------------

function select(i: number, moveMoment: boolean): void {
  selected = i;
  send({ type: "detail", gen, index: i });
  if (moveMoment) setMoment({ index: i }, false);
  renderList();
}

/** Goes from a request to its reply, or from a reply to its request. */
function follow(i: number): void {
  const p = analysed === undefined ? -1 : (analysed.partner[i] as number);
  if (p < 0) return;
  if (positionOf(p) < 0) clearFilter();
  select(p, true);
  scrollToIndex(p);
}

function showDetail(d: Detail): void {
  const box = $("detail");
  const h = document.createElement("h3");
  h.textContent = `#${d.index} ${d.label}`;
  const parts: HTMLElement[] = [h];
  const [reply, words] = replyText(d.index);
  if (reply !== "") {
    const link = document.createElement("button");
    link.id = "follow";
    link.type = "button";
    link.textContent = words;
    link.addEventListener("click", () => follow(d.index));
    parts.push(link);
  }
  const dl = document.createElement("dl");
  for (const [k, v] of d.fields) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    const r = d.ranges.findIndex((x) => x.name === k);
    if (r >= 0) {
      dt.className = "linked";
      dt.title = "show its bytes";
      dt.addEventListener("click", () => highlight(r));
    }
    dl.append(dt, dd);
  }
  parts.push(dl);
  box.replaceChildren(...parts);
  showBytes(d.bytes, d.ranges);
}

let ranges: ByteRange[] = [];

/** The message's bytes as hex and text, and the byte range of each field; each highlights the other. */
function showBytes(bytes: Uint8Array, rs: ByteRange[]): void {
  ranges = rs;
  const box = $("hex");
  const h = document.createElement("h3");
  h.textContent = `Bytes (${bytes.length})`;
  const dump = document.createElement("div");
  dump.className = "dump";
  for (let at = 0; at < bytes.length; at += HEX_ROW) {
    const line = document.createElement("div");
    const off = document.createElement("span");
    off.className = "off";
    off.textContent = at.toString(16).padStart(4, "0");
    const hex = document.createElement("span");
    hex.className = "hexes";
    const text = document.createElement("span");
    text.className = "text";
    for (let o = at; o < Math.min(bytes.length, at + HEX_ROW); o++) {
      const c = bytes[o] as number;
      const b = document.createElement("span");
      b.className = "b";
      b.dataset.o = String(o);
      b.textContent = c.toString(16).padStart(2, "0");
      const a = document.createElement("span");
      a.className = "c";
      a.dataset.o = String(o);
      a.textContent = c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : ".";
      hex.append(b);
      text.append(a);
    }
    line.append(off, hex, text);
    dump.append(line);
  }
  dump.addEventListener("click", (e) => {
    const o = Number((e.target as HTMLElement).dataset.o);
    if (Number.isInteger(o)) highlight(innermost(o));
  });
  const ul = document.createElement("ul");
  ul.id = "ranges";
  rs.forEach((r, k) => {
    const li = document.createElement("li");
    li.dataset.from = String(r.offset);
    li.dataset.to = String(r.offset + r.length - 1);
    li.textContent = `${r.offset}-${r.offset + r.length - 1} ${r.label}`;
    li.title = li.textContent;
    li.addEventListener("click", () => highlight(k));
    ul.append(li);
  });
  box.replaceChildren(h, dump, ul);
}

/** The narrowest field holding byte `o` (−1: none). */
function innermost(o: number): number {
  let best = -1;
  ranges.forEach((r, k) => {
    if (o >= r.offset && o < r.offset + r.length && (best < 0 || r.length < (ranges[best] as ByteRange).length)) best = k;
  });
  return best;
}

function highlight(k: number): void {
  const box = $("hex");
  for (const el of box.querySelectorAll(".hl")) el.classList.remove("hl");
  const r = ranges[k];
  if (r === undefined) return;
  for (const el of box.querySelectorAll<HTMLElement>(".b, .c")) {
    const o = Number(el.dataset.o);
    if (o >= r.offset && o < r.offset + r.length) el.classList.add("hl");
  }
  const li = box.querySelectorAll("#ranges li")[k] as HTMLElement;
  li.classList.add("hl");
  li.scrollIntoView({ block: "nearest" });
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
  analyst.postMessage({ type: "state", gen, id: stateWanted, limit: TABLE_LIMIT, ...at } satisfies ToWorker);
}

/** Moves the moment to a time or to a message; `follow` scrolls the list to it. */
function setMoment(at: { time?: number; index?: number }, followIt: boolean): void {
  if (done === undefined || analysed === undefined) return;
  const duration = done.duration;
  const time = at.index !== undefined ? (cols.time.a[at.index] as number) : (at.time ?? duration);
  scrub.value = String(duration > 0 ? Math.round((time / duration) * SCRUB_STEPS) : SCRUB_STEPS);
  if (document.activeElement !== atBox) atBox.value = time.toFixed(6);
  momentIndex = at.index ?? lastIndexAt(time);
  if (followIt && momentIndex >= 0) scrollToIndex(momentIndex);
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
  if (done === undefined || analysed === undefined) return;
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
  const headRow = t.createTHead().insertRow();
  for (const name of headers) {
    const th = document.createElement("th");
    th.textContent = name;
    headRow.append(th);
  }
  const body = t.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    for (const c of r) {
      const td = tr.insertCell();
      td.textContent = c;
      td.title = c;
    }
  }
  const wrap = document.createElement("div");
  wrap.className = "scroll";
  wrap.append(t);
  section.append(wrap);
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
  openFiles([...(picker.files ?? [])]);
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
  openFiles([...(e.dataTransfer?.files ?? [])]);
});

// ---- keys ---------------------------------------------------------------------------------

/** Moves the selection to view position `k` (clamped) and brings it into sight. */
function selectPosition(k: number): void {
  const n = viewLength();
  if (n === 0) return;
  const at = Math.max(0, Math.min(n - 1, k));
  select(viewAt(at), true);
  scrollToPosition(at);
}

window.addEventListener("keydown", (e) => {
  const target = e.target as HTMLElement;
  // Typing in the filter, choosing a format or pressing a button keeps its own keys.
  if (
    done === undefined ||
    target instanceof HTMLInputElement ||
    target instanceof HTMLSelectElement ||
    target instanceof HTMLButtonElement
  )
    return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const from = selected >= 0 ? selected : Math.max(0, momentIndex);
  const k = positionOf(from) >= 0 ? positionOf(from) : lowerBound(from);
  const page = Math.max(1, geometry().visible - 2);
  const moves: Record<string, () => void> = {
    ArrowDown: () => selectPosition(selected < 0 ? k : k + 1),
    j: () => selectPosition(selected < 0 ? k : k + 1),
    ArrowUp: () => selectPosition(k - 1),
    k: () => selectPosition(k - 1),
    PageDown: () => selectPosition(k + page),
    PageUp: () => selectPosition(k - page),
    Home: () => selectPosition(0),
    End: () => selectPosition(viewLength() - 1),
    Enter: () => {
      if (selected >= 0) follow(selected);
    },
  };
  const move = Object.hasOwn(moves, e.key) ? moves[e.key] : undefined;
  if (move === undefined) return;
  e.preventDefault();
  move();
});

buildHead();
layoutColumns();

const hash = new URLSearchParams(location.hash.slice(1));
const preset = hash.get("capture");
if (preset) {
  void openUrl(preset);
} else {
  setStatus("idle", "Open a capture (pcap or pcapng) with the button, or drop it on this page; several become one timeline.");
}
