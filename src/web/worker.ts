// The page's decoding worker: reads a capture in slices, decodes it with the core (the same
// iwpm.wasm as everywhere), rebuilds the state over time, and posts compact per-message columns
// back in chunks. It keeps only per-record offsets, not decoded messages: rows, details and
// states are computed again on request from the file itself.

import { CaptureReader, type CaptureRecord, type Timestamp } from "../capture/pcap.js";
import type { CoreExports } from "../core/core.js";
import { CaptureDecoder, type CaptureMessage, loadDecoderCore, type Side } from "../replay/decode.js";
import { directionText, fields, summary } from "../replay/format.js";
import { StateBuilder, type Timeline } from "../replay/state.js";
import type { Columns, FromWorker, RowText, ToWorker } from "./protocol.js";

interface WorkerScope {
  postMessage(msg: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;
const post = (msg: FromWorker, transfer: Transferable[] = []) => scope.postMessage(msg, transfer);

const SLICE = 8 << 20;

let corePromise: Promise<CoreExports> | undefined;
function core(): Promise<CoreExports> {
  corePromise ??= (async () => {
    const url = new URL("./iwpm.wasm", import.meta.url);
    const res = await fetch(url);
    if (!res.ok) throw new Error(`cannot load ${url.pathname}: HTTP ${res.status}`);
    const module = await WebAssembly.compileStreaming(res);
    return loadDecoderCore(module);
  })();
  return corePromise;
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
}

interface Loaded {
  name: string;
  blob: Blob;
  side: Side;
  origin: Timestamp;
  recOffset: Float64Array;
  recLength: Uint32Array;
  recLink: Uint16Array;
  recSec: Float64Array;
  recNsec: Uint32Array;
  /** Per message: its record and its position there. */
  msgRecord: Uint32Array;
  msgPart: Uint16Array;
  count: number;
  timeline: Timeline;
}

let loaded: Loaded | undefined;
let generation = 0;

async function open(blob: Blob, name: string): Promise<void> {
  const gen = ++generation;
  loaded = undefined;
  const started = performance.now();
  const x = await core();
  post({ type: "loading", name, total: blob.size });

  const rec = {
    offset: new Grow(new Float64Array(1024), (n) => new Float64Array(n)),
    length: new Grow(new Uint32Array(1024), (n) => new Uint32Array(n)),
    link: new Grow(new Uint16Array(1024), (n) => new Uint16Array(n)),
    sec: new Grow(new Float64Array(1024), (n) => new Float64Array(n)),
    nsec: new Grow(new Uint32Array(1024), (n) => new Uint32Array(n)),
  };
  const msgRecord = new Grow(new Uint32Array(1024), (n) => new Uint32Array(n));
  const msgPart = new Grow(new Uint16Array(1024), (n) => new Uint16Array(n));

  // The chunk of columns being filled, posted after every slice.
  let chunk: CaptureMessage[] = [];
  const builder = new StateBuilder();
  let hasNetlink = false;
  let hasPeer = false;
  const decoder = new CaptureDecoder(x, {
    onMessage: (m, bytes) => {
      builder.add(m, bytes);
      msgRecord.push(m.record);
      msgPart.push(m.proto === "netlink" ? m.part : 0);
      if (m.proto === "netlink") hasNetlink = true;
      else hasPeer = true;
      chunk.push(m);
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
  const flush = (bytes: number) => {
    const n = chunk.length;
    const cols: Columns = {
      time: new Float64Array(n),
      code: new Uint8Array(n),
      client: new Uint8Array(n),
      seq: new Uint32Array(n),
      pid: new Uint32Array(n),
      invalid: new Uint8Array(n),
    };
    chunk.forEach((m, i) => {
      cols.time[i] = m.time;
      cols.code[i] = m.code;
      if (m.proto === "netlink") {
        cols.client[i] = m.client ?? 255;
        cols.seq[i] = m.seq;
        cols.pid[i] = m.pid;
        cols.invalid[i] = m.status !== 0 ? 1 : 0;
      } else {
        cols.client[i] = 255;
        cols.invalid[i] = m.wire.problem ? 1 : 0;
      }
    });
    chunk = [];
    post({ type: "progress", bytes, total: blob.size, messages: decoder.stats.messages, columns: cols }, [
      cols.time.buffer,
      cols.code.buffer,
      cols.client.buffer,
      cols.seq.buffer,
      cols.pid.buffer,
      cols.invalid.buffer,
    ]);
  };

  for (let at = 0; at < blob.size; at += SLICE) {
    const bytes = new Uint8Array(await blob.slice(at, Math.min(blob.size, at + SLICE)).arrayBuffer());
    if (gen !== generation) return; // another capture was opened meanwhile
    reader.push(bytes);
    flush(Math.min(blob.size, at + SLICE));
  }
  const capture = reader.end();
  const stats = decoder.finish();
  flush(blob.size);
  const timeline = builder.finish();

  const anomalies = timeline.anomalyIndex();
  const anomalyIndex = new Int32Array(anomalies.size);
  const anomalySeverity = new Uint8Array(anomalies.size);
  let k = 0;
  for (const [i, a] of anomalies) {
    anomalyIndex[k] = i;
    anomalySeverity[k++] = a.severity === "error" ? 2 : a.severity === "warning" ? 1 : 0;
  }
  const warnings: string[] = [];
  if (capture.trailingBytes > 0)
    warnings.push(`the last ${capture.trailingBytes} bytes do not form a whole record (the capture was cut short)`);
  if (stats.messages === 0) {
    warnings.push(
      stats.records === 0
        ? "the capture holds no packets"
        : `no iwpm message in ${stats.records} packets (link types ${capture.linkTypes.join(", ")}; iwpm netlink is link type 253, peer traffic UDP port 3935)`,
    );
  }
  loaded = {
    name,
    blob,
    side: stats.side ?? "client",
    origin: stats.first ?? { sec: 0, nsec: 0 },
    recOffset: rec.offset.a.subarray(0, rec.offset.n),
    recLength: rec.length.a.subarray(0, rec.length.n),
    recLink: rec.link.a.subarray(0, rec.link.n),
    recSec: rec.sec.a.subarray(0, rec.sec.n),
    recNsec: rec.nsec.a.subarray(0, rec.nsec.n),
    msgRecord: msgRecord.a.subarray(0, msgRecord.n),
    msgPart: msgPart.a.subarray(0, msgPart.n),
    count: msgRecord.n,
    timeline,
  };
  post({
    type: "done",
    name,
    stats,
    duration: timeline.end,
    anomalyIndex,
    anomalySeverity,
    hasNetlink,
    hasPeer,
    warnings,
    ms: performance.now() - started,
  });
}

/** Decodes messages [start, start + count) again, from the file. */
async function messagesAt(l: Loaded, start: number, count: number): Promise<CaptureMessage[]> {
  const end = Math.min(l.count, start + count);
  if (start >= end) return [];
  const r0 = l.msgRecord[start] as number;
  const r1 = l.msgRecord[end - 1] as number;
  const from = l.recOffset[r0] as number;
  const to = (l.recOffset[r1] as number) + (l.recLength[r1] as number);
  const bytes = new Uint8Array(await l.blob.slice(from, to).arrayBuffer());
  const out: CaptureMessage[] = [];
  const x = await core();
  const decoder = new CaptureDecoder(x, { side: l.side, origin: l.origin, onMessage: (m) => out.push(m) });
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

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case "open":
      return open(msg.file, msg.name);
    case "openUrl": {
      const res = await fetch(msg.url);
      if (!res.ok) throw new Error(`cannot load ${msg.url}: HTTP ${res.status}`);
      const name = decodeURIComponent(msg.url.split("/").pop() ?? msg.url);
      return open(await res.blob(), name);
    }
    case "rows": {
      const l = loaded;
      if (l === undefined) return;
      const ms = await messagesAt(l, msg.start, msg.count);
      const rows: RowText[] = ms.map((m) => ({ dir: directionText(m), summary: summary(m) }));
      post({ type: "rows", id: msg.id, start: msg.start, rows });
      return;
    }
    case "detail": {
      const l = loaded;
      if (l === undefined) return;
      const [m] = await messagesAt(l, msg.index, 1);
      if (m === undefined) return;
      post({ type: "detail", id: msg.id, index: msg.index, label: m.label, fields: fields(m) });
      return;
    }
    case "state": {
      const l = loaded;
      if (l === undefined) return;
      const opts = { limit: msg.limit };
      const state =
        msg.index !== undefined ? l.timeline.stateAtIndex(msg.index, opts) : l.timeline.stateAt(msg.time ?? l.timeline.end, opts);
      post({ type: "state", id: msg.id, state });
      return;
    }
  }
}

scope.onmessage = (ev) => {
  handle(ev.data).catch((err: unknown) => {
    post({ type: "error", message: err instanceof Error ? err.message : String(err) });
  });
};
