// The page's decoding worker: reads captures in slices and decodes them with the core (the same
// iwpm.wasm as everywhere). The page runs two of these on each opening: one lists the messages
// (headers only, posted as compact per-message columns in chunks) and then answers for rows,
// details and filters; the other rebuilds the state over time (anomalies, reply links), beside
// the listing or after it, and then answers for states. The lister keeps only per-record offsets, not decoded messages:
// rows, details and filters are decoded again on request from the files themselves. Several
// files become one timeline merged by timestamp, as `iwpm decode` and `iwpm replay` merge them.

import { CaptureReader, type CaptureRecord, secondsBetween, type Timestamp } from "../capture/pcap.js";
import type { CoreExports } from "../core/core.js";
import { CaptureDecoder, type CaptureMessage, type DecodeStats, loadDecoderCore, type Side } from "../replay/decode.js";
import { compileFilter, type Filter, FilterError } from "../replay/filter.js";
import { byteRanges, directionText, fields, summary } from "../replay/format.js";
import { mergeByTime } from "../replay/merge.js";
import { loadDaemonCore } from "../replay/peer-engine.js";
import { type Anomaly, buildTimeline, StateBuilder, type Timeline } from "../replay/state.js";
import type { Columns, FromWorker, OpenFile, RowText, ToWorker } from "./protocol.js";

interface WorkerScope {
  postMessage(msg: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;
const post = (msg: FromWorker, transfer: Transferable[] = []) => scope.postMessage(msg, transfer);

const SLICE = 8 << 20;
/** Messages per columns chunk when a merged timeline is posted at the end. */
const MERGED_CHUNK = 1 << 16;
/** Columns.file is a byte. */
const MAX_FILES = 255;

async function compile(name: string): Promise<WebAssembly.Module> {
  const url = new URL(`./${name}`, import.meta.url);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot load ${url.pathname}: HTTP ${res.status}`);
  return WebAssembly.compileStreaming(res);
}

let corePromise: Promise<CoreExports> | undefined;
function core(): Promise<CoreExports> {
  corePromise ??= compile("iwpm.wasm").then(loadDecoderCore);
  return corePromise;
}

/** The daemon core replays the peers' UDP exchanges: only the analysis needs it. */
let daemonPromise: Promise<void> | undefined;
function daemonCore(): Promise<void> {
  daemonPromise ??= compile("iwpmd.wasm").then(loadDaemonCore);
  return daemonPromise;
}

/** A growable typed array. */
class Grow<T extends Float64Array | Uint32Array | Uint16Array | Uint8Array> {
  n = 0;
  constructor(
    public a: T,
    private readonly make: (n: number) => T,
  ) {}
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = this.make(this.a.length * 2);
      b.set(this.a as never);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  done(): T {
    return this.a.subarray(0, this.n) as T;
  }
}

const grow32 = () => new Grow(new Uint32Array(1024), (n) => new Uint32Array(n));

/** One input file: where each record and message sits, to decode them again on request. */
interface FileData {
  name: string;
  blob: Blob;
  side: Side;
  origin: Timestamp;
  stats: DecodeStats;
  recOffset: Float64Array;
  recLength: Uint32Array;
  recLink: Uint16Array;
  recSec: Float64Array;
  recNsec: Uint32Array;
  /** Per message: its record and its position there. */
  msgRecord: Uint32Array;
  msgPart: Uint16Array;
  count: number;
  /** Per message: its index in the merged timeline (absent for a single file: the same). */
  toMerged?: Uint32Array;
}

interface Session {
  gen: number;
  files: FileData[];
  /** Per message of the timeline: seconds since the origin. */
  times: Float64Array;
  /** Per message of a merged timeline: its file and its index there. */
  msgFile?: Uint8Array;
  msgLocal?: Uint32Array;
  /** Anomaly kinds by message, for the filter's `anomaly` field: the analysis sends them. */
  kinds: Promise<Map<number, string[]>>;
  gotKinds(kinds: Map<number, string[]>): void;
}

/** What the analysing worker keeps of an opening. */
interface Analysis {
  gen: number;
  timeline: Timeline;
}

let session: Session | undefined;
let analysis: Analysis | undefined;
let generation = 0;
let filterRun = 0;

class Stale extends Error {}

/**
 * The columns of the messages posted next, written as each message is decoded, so that no
 * message object outlives its own decoding.
 */
class ColumnWriter {
  private cols = ColumnWriter.fresh(1024);

  private static fresh(size: number) {
    const g = <T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(make: (n: number) => T) => new Grow(make(size), make);
    const u8 = (n: number) => new Uint8Array(n);
    const u32 = (n: number) => new Uint32Array(n);
    return {
      time: g((n) => new Float64Array(n)),
      code: g(u8),
      client: g(u8),
      seq: g(u32),
      pid: g(u32),
      invalid: g(u8),
      frame: g(u32),
      part: g((n) => new Uint16Array(n)),
      file: g(u8),
    };
  }

  get length(): number {
    return this.cols.time.n;
  }

  add(m: CaptureMessage, file: number, time: number): void {
    const c = this.cols;
    c.time.push(time);
    c.code.push(m.code);
    c.frame.push(m.record + 1);
    c.file.push(file);
    if (m.proto === "netlink") {
      c.client.push(m.client ?? 255);
      c.seq.push(m.seq);
      c.pid.push(m.pid);
      c.invalid.push(m.status !== 0 ? 1 : 0);
      c.part.push(m.parts > 1 ? m.part + 1 : 0);
    } else {
      c.client.push(255);
      c.seq.push(0);
      c.pid.push(0);
      c.invalid.push(m.wire.problem ? 1 : 0);
      c.part.push(0);
    }
  }

  /** The columns written so far; the next ones start afresh, sized like these. */
  take(): Columns {
    const c = this.cols;
    this.cols = ColumnWriter.fresh(Math.max(1024, c.time.n));
    return {
      time: c.time.done(),
      code: c.code.done(),
      client: c.client.done(),
      seq: c.seq.done(),
      pid: c.pid.done(),
      invalid: c.invalid.done(),
      frame: c.frame.done(),
      part: c.part.done(),
      file: c.file.done(),
    };
  }
}

const transfers = (c: Columns): Transferable[] =>
  [c.time, c.code, c.client, c.seq, c.pid, c.invalid, c.frame, c.part, c.file].map((a) => a.buffer);

/** Reads a blob slice by slice into a CaptureReader; throws Stale once `alive` says so. */
async function feed(blob: Blob, reader: CaptureReader, alive: () => boolean, progress: (bytes: number) => void): Promise<void> {
  const read = (at: number) => blob.slice(at, Math.min(blob.size, at + SLICE)).arrayBuffer();
  // The next slice is read while this one decodes.
  let next = read(0);
  for (let at = 0; at < blob.size; at += SLICE) {
    const bytes = new Uint8Array(await next);
    if (at + SLICE < blob.size) next = read(at + SLICE);
    if (!alive()) {
      // A read still under way when this opening is dropped fails or ends unheard.
      next.catch(() => {});
      throw new Stale();
    }
    reader.push(bytes);
    progress(Math.min(blob.size, at + SLICE));
  }
}

/**
 * Decodes one file, recording where each record and message sits; `onMessage` sees every
 * message, `onSlice` runs after each slice with the bytes read so far.
 */
async function decodeFile(
  x: CoreExports,
  f: OpenFile,
  gen: number,
  headersOnly: boolean,
  /** `bytes` are the message's own, valid only during the call (the state replays them). */
  onMessage: (m: CaptureMessage, bytes: Uint8Array) => void,
  onSlice: (bytes: number, messages: number) => void,
): Promise<{ data: FileData; warnings: string[] }> {
  const rec = {
    offset: new Grow(new Float64Array(1024), (n) => new Float64Array(n)),
    length: grow32(),
    link: new Grow(new Uint16Array(1024), (n) => new Uint16Array(n)),
    sec: new Grow(new Float64Array(1024), (n) => new Float64Array(n)),
    nsec: grow32(),
  };
  const msgRecord = grow32();
  const msgPart = new Grow(new Uint16Array(1024), (n) => new Uint16Array(n));
  const decoder = new CaptureDecoder(x, {
    headersOnly,
    onMessage: (m, bytes) => {
      msgRecord.push(m.record);
      msgPart.push(m.proto === "netlink" ? m.part : 0);
      onMessage(m, bytes);
    },
  });
  const reader = new CaptureReader((r: CaptureRecord) => {
    rec.offset.push(r.fileOffset);
    rec.length.push(r.data.length);
    rec.link.push(r.linkType);
    rec.sec.push(r.time.sec);
    rec.nsec.push(r.time.nsec);
    decoder.record(r);
  });
  await feed(
    f.blob,
    reader,
    () => gen === generation,
    (bytes) => onSlice(bytes, decoder.stats.messages),
  );
  const capture = reader.end();
  const stats = decoder.finish();
  const warnings: string[] = [];
  const where = (text: string) => warnings.push(`${f.name}: ${text}`);
  if (capture.trailingBytes > 0) where(`the last ${capture.trailingBytes} bytes do not form a whole record (the capture was cut short)`);
  if (stats.messages === 0) {
    where(
      stats.records === 0
        ? "the capture holds no packets"
        : `no iwpm message in ${stats.records} packets (link types ${capture.linkTypes.join(", ")}; iwpm netlink is link type 253, peer traffic UDP port 3935)`,
    );
  }
  const data: FileData = {
    name: f.name,
    blob: f.blob,
    side: stats.side ?? "client",
    origin: stats.first ?? { sec: 0, nsec: 0 },
    stats,
    recOffset: rec.offset.done(),
    recLength: rec.length.done(),
    recLink: rec.link.done(),
    recSec: rec.sec.done(),
    recNsec: rec.nsec.done(),
    msgRecord: msgRecord.done(),
    msgPart: msgPart.done(),
    count: msgRecord.n,
  };
  return { data, warnings };
}

/** Starts an opening: a newer generation replaces whatever this worker held. */
async function begin(files: OpenFile[], gen: number): Promise<CoreExports | undefined> {
  if (gen < generation) return undefined;
  generation = gen;
  // A filter still waiting for the replaced opening's anomaly kinds ends unheard.
  session?.gotKinds(new Map());
  session = undefined;
  analysis = undefined;
  const x = await core();
  if (files.length > MAX_FILES) throw new Error(`at most ${MAX_FILES} captures open at once; pick fewer files`);
  return x;
}

/**
 * Lists the messages: decodes headers only (no attribute values) and posts the columns, so the
 * list is whole as soon as the files are read once. The other worker replays them (analyse).
 */
async function list(files: OpenFile[], gen: number): Promise<void> {
  const started = performance.now();
  const x = await begin(files, gen);
  if (x === undefined) return;
  const names = files.map((f) => f.name);
  const total = files.reduce((n, f) => n + f.blob.size, 0);
  post({ type: "loading", gen, names, total });

  let hasNetlink = false;
  let hasPeer = false;
  const note = (m: CaptureMessage) => {
    if (m.proto === "netlink") hasNetlink = true;
    else hasPeer = true;
  };
  const datas: FileData[] = [];
  const warnings: string[] = [];
  let times: Float64Array;
  let msgFile: Uint8Array | undefined;
  let msgLocal: Uint32Array | undefined;

  if (files.length === 1) {
    // One file: the list fills while it decodes.
    const f = files[0] as OpenFile;
    const chunk = new ColumnWriter();
    const time = new Grow(new Float64Array(1024), (n) => new Float64Array(n));
    const flush = (bytes: number, messages: number) => {
      const columns = chunk.take();
      post({ type: "progress", gen, bytes, total, messages, columns }, transfers(columns));
    };
    const { data, warnings: w } = await decodeFile(
      x,
      f,
      gen,
      true,
      (m) => {
        note(m);
        time.push(m.time);
        chunk.add(m, 0, m.time);
      },
      flush,
    );
    flush(total, data.count);
    datas.push(data);
    warnings.push(...w);
    times = time.done();
  } else {
    // Several: each is decoded whole, then the timeline is merged by timestamp.
    const kept: { messages: CaptureMessage[]; first: Timestamp | undefined }[] = [];
    let before = 0;
    for (const f of files) {
      const messages: CaptureMessage[] = [];
      const { data, warnings: w } = await decodeFile(
        x,
        f,
        gen,
        true,
        (m) => {
          note(m);
          messages.push(m);
        },
        (bytes, n) => post({ type: "progress", gen, bytes: before + bytes, total, messages: n }),
      );
      before += f.blob.size;
      datas.push(data);
      warnings.push(...w);
      kept.push({ messages, first: data.stats.first });
    }
    const n = kept.reduce((k, f) => k + f.messages.length, 0);
    times = new Float64Array(n);
    msgFile = new Uint8Array(n);
    msgLocal = new Uint32Array(n);
    for (const d of datas) d.toMerged = new Uint32Array(d.count);
    let g = 0;
    const chunk = new ColumnWriter();
    const flush = () => {
      const columns = chunk.take();
      post({ type: "progress", gen, bytes: total, total, messages: g, columns }, transfers(columns));
    };
    for (const [f, m, time] of mergeByTime(kept)) {
      times[g] = time;
      msgFile[g] = f;
      msgLocal[g] = m.index;
      ((datas[f] as FileData).toMerged as Uint32Array)[m.index] = g;
      chunk.add(m, f, time);
      g++;
      if (chunk.length === MERGED_CHUNK) flush();
    }
    flush();
  }

  let origin: Timestamp | undefined;
  for (const d of datas) {
    const first = d.stats.first;
    if (first && (origin === undefined || secondsBetween(first, origin) > 0)) origin = first;
  }
  let gotKinds: (kinds: Map<number, string[]>) => void = () => {};
  const kinds = new Promise<Map<number, string[]>>((resolve) => {
    gotKinds = resolve;
  });
  session = { gen, files: datas, times, kinds, gotKinds, ...(msgFile && msgLocal ? { msgFile, msgLocal } : {}) };
  post({
    type: "listed",
    gen,
    names,
    stats: datas.map((d) => d.stats),
    origin: origin ?? { sec: 0, nsec: 0 },
    // The replay's end: the last message of the timeline.
    duration: times.length > 0 ? (times[times.length - 1] as number) : 0,
    hasNetlink,
    hasPeer,
    warnings,
    ms: performance.now() - started,
  });
}

/** Replays the messages: the state over time, the anomalies and which reply answers which request. */
async function analyse(files: OpenFile[], gen: number): Promise<void> {
  const started = performance.now();
  const x = await begin(files, gen);
  if (x === undefined) return;
  await daemonCore();
  const total = files.reduce((n, f) => n + f.blob.size, 0);
  const progress = (bytes: number) => post({ type: "analysing", gen, fraction: bytes / Math.max(1, total) });
  const builder = new StateBuilder();
  /** Several files: each one's anomalies, from its own replay, and where its messages went in the merge. */
  let perFile: { anomalies: readonly Anomaly[]; toMerged: Uint32Array }[] | undefined;

  if (files.length === 1) {
    await decodeFile(x, files[0] as OpenFile, gen, false, (m, bytes) => builder.add(m, bytes), progress);
  } else {
    const kept: { messages: CaptureMessage[]; first: Timestamp | undefined }[] = [];
    perFile = [];
    let before = 0;
    for (const f of files) {
      const messages: CaptureMessage[] = [];
      const { data } = await decodeFile(
        x,
        f,
        gen,
        false,
        (m, bytes) => {
          // Replayed after the merge, so each keeps a copy of its bytes.
          m.bytes = bytes.slice();
          messages.push(m);
        },
        (bytes) => progress(before + bytes),
      );
      before += f.blob.size;
      kept.push({ messages, first: data.stats.first });
      perFile.push({ anomalies: buildTimeline(messages).anomalies, toMerged: new Uint32Array(data.count) });
    }
    let g = 0;
    for (const [f, m, time] of mergeByTime(kept)) {
      (perFile[f] as (typeof perFile)[number]).toMerged[m.index] = g;
      builder.add({ ...m, index: g, time });
      g++;
    }
  }

  const timeline = builder.finish();
  const anomalies = timeline.anomalyIndex();
  const anomalyIndex = new Int32Array(anomalies.size);
  const anomalySeverity = new Uint8Array(anomalies.size);
  let k = 0;
  for (const [i, a] of anomalies) {
    anomalyIndex[k] = i;
    anomalySeverity[k++] = a.severity === "error" ? 2 : a.severity === "warning" ? 1 : 0;
  }
  // The filter's `anomaly` field is what `iwpm decode -Y` sees: each file's own replay.
  const kindIndex: number[] = [];
  const kindNames: string[] = [];
  if (perFile === undefined)
    for (const a of timeline.anomalies) {
      kindIndex.push(a.index);
      kindNames.push(a.kind);
    }
  else
    for (const f of perFile)
      for (const a of f.anomalies) {
        kindIndex.push(f.toMerged[a.index] as number);
        kindNames.push(a.kind);
      }
  const partner = new Int32Array(timeline.times.length).fill(-1);
  for (const r of timeline.requests) {
    if (r.answeredAt === undefined) continue;
    partner[r.sentAt] = r.answeredAt;
    partner[r.answeredAt] = r.sentAt;
  }
  analysis = { gen, timeline };
  const kinds = Uint32Array.from(kindIndex);
  post(
    {
      type: "analysed",
      gen,
      anomalyIndex,
      anomalySeverity,
      partner,
      kindIndex: kinds,
      kindNames,
      ms: performance.now() - started,
    },
    [partner.buffer, kinds.buffer],
  );
}

/** Decodes messages [start, start + count) of one file again, from the file. */
async function messagesAt(x: CoreExports, l: FileData, start: number, count: number, keepBytes = false): Promise<CaptureMessage[]> {
  const end = Math.min(l.count, start + count);
  if (start >= end) return [];
  const r0 = l.msgRecord[start] as number;
  const r1 = l.msgRecord[end - 1] as number;
  const from = l.recOffset[r0] as number;
  const to = (l.recOffset[r1] as number) + (l.recLength[r1] as number);
  const bytes = new Uint8Array(await l.blob.slice(from, to).arrayBuffer());
  const out: CaptureMessage[] = [];
  const decoder = new CaptureDecoder(x, { side: l.side, origin: l.origin, keepBytes, onMessage: (m) => out.push(m) });
  for (let r = r0; r <= r1; r++) {
    const off = (l.recOffset[r] as number) - from;
    const len = l.recLength[r] as number;
    decoder.record({
      index: r,
      linkType: l.recLink[r] as number,
      interfaceId: 0,
      time: { sec: l.recSec[r] as number, nsec: l.recNsec[r] as number },
      data: bytes.subarray(off, off + len),
      originalLength: len,
      fileOffset: l.recOffset[r] as number,
    });
  }
  decoder.finish();
  // The first record's messages before `start` are not asked for.
  const skip = l.msgPart[start] as number;
  const mine = out.slice(skip, skip + (end - start));
  mine.forEach((m, i) => {
    m.index = start + i;
  });
  return mine;
}

/** Timeline messages by index, decoded again; each carries its timeline index and time. */
async function timelineMessages(s: Session, indices: readonly number[], keepBytes = false): Promise<CaptureMessage[]> {
  const x = await core();
  const where = (g: number): [number, number] => (s.msgFile && s.msgLocal ? [s.msgFile[g] as number, s.msgLocal[g] as number] : [0, g]);
  const out: CaptureMessage[] = [];
  // Runs of consecutive messages of one file are decoded from one slice.
  for (let k = 0; k < indices.length; ) {
    const [file, local] = where(indices[k] as number);
    let n = 1;
    while (k + n < indices.length) {
      const [f2, l2] = where(indices[k + n] as number);
      if (f2 !== file || l2 !== local + n) break;
      n++;
    }
    const ms = await messagesAt(x, s.files[file] as FileData, local, n, keepBytes);
    ms.forEach((m, i) => {
      const g = indices[k + i] as number;
      m.index = g;
      m.time = s.times[g] as number;
      out.push(m);
    });
    k += n;
  }
  return out;
}

/** The timeline indices of the messages `filter` selects, in order; null when another run replaced this one. */
async function runFilter(s: Session, filter: Filter, id: number): Promise<Uint32Array | null> {
  const x = await core();
  const kinds = await s.kinds;
  if (id !== filterRun || s !== session) return null;
  const hits = grow32();
  const total = s.files.reduce((n, f) => n + f.blob.size, 0);
  let before = 0;
  try {
    for (const f of s.files) {
      const decoder = new CaptureDecoder(x, {
        side: f.side,
        origin: f.origin,
        onMessage: (m) => {
          const g = f.toMerged ? (f.toMerged[m.index] as number) : m.index;
          const its = kinds.get(g);
          const subject = {
            m,
            frame: m.record + 1,
            msg: m.proto === "netlink" ? m.part + 1 : 1,
            file: f.name,
            time: s.times[g] as number,
            ...(its ? { anomalies: its } : {}),
          };
          if (filter.test(subject)) hits.push(g);
        },
      });
      const reader = new CaptureReader((r) => decoder.record(r));
      await feed(
        f.blob,
        reader,
        () => id === filterRun && s === session,
        (bytes) => post({ type: "filterProgress", gen: s.gen, id, fraction: (before + bytes) / Math.max(1, total) }),
      );
      reader.end();
      decoder.finish();
      before += f.blob.size;
    }
  } catch (err) {
    if (err instanceof Stale) return null;
    throw err;
  }
  const out = hits.done();
  if (s.files.length > 1) out.sort();
  return out;
}

async function handle(msg: ToWorker): Promise<void> {
  if (msg.type === "open") return msg.role === "list" ? list(msg.files, msg.gen) : analyse(msg.files, msg.gen);
  if (msg.type === "state") {
    const a = analysis;
    if (a === undefined || a.gen !== msg.gen) return;
    const opts = { limit: msg.limit };
    const tl = a.timeline;
    const state = msg.index !== undefined ? tl.stateAtIndex(msg.index, opts) : tl.stateAt(msg.time ?? tl.end, opts);
    post({ type: "state", gen: a.gen, id: msg.id, state });
    return;
  }
  const s = session;
  if (s === undefined || s.gen !== msg.gen) return;
  switch (msg.type) {
    case "rows": {
      const ms = await timelineMessages(s, msg.indices);
      const rows: RowText[] = ms.map((m) => ({ dir: directionText(m), summary: summary(m) }));
      post({ type: "rows", gen: s.gen, id: msg.id, indices: msg.indices, rows });
      return;
    }
    case "detail": {
      const [m] = await timelineMessages(s, [msg.index], true);
      if (m === undefined) return;
      const bytes = m.bytes ?? new Uint8Array(0);
      post({ type: "detail", gen: s.gen, index: msg.index, label: m.label, fields: fields(m), bytes, ranges: byteRanges(m) });
      return;
    }
    case "kinds": {
      const kinds = new Map<number, string[]>();
      msg.index.forEach((g, k) => {
        const kind = msg.kinds[k] as string;
        const list = kinds.get(g);
        if (list) list.push(kind);
        else kinds.set(g, [kind]);
      });
      s.gotKinds(kinds);
      return;
    }
    case "filter": {
      filterRun = msg.id;
      let filter: Filter;
      try {
        filter = compileFilter(msg.expr);
      } catch (err) {
        if (!(err instanceof FilterError)) throw err;
        post({ type: "filterError", gen: s.gen, id: msg.id, message: err.message, position: err.position });
        return;
      }
      const indices = await runFilter(s, filter, msg.id);
      if (indices !== null) post({ type: "filtered", gen: s.gen, id: msg.id, indices }, [indices.buffer]);
      return;
    }
  }
}

scope.onmessage = (ev) => {
  const gen = ev.data.gen;
  handle(ev.data).catch((err: unknown) => {
    if (err instanceof Stale) return;
    post({ type: "error", gen, message: err instanceof Error ? err.message : String(err) });
  });
};
