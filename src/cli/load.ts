// What the capture commands share: the core, a capture file read in chunks (or stdin), and a
// progress bar on a terminal.

import { open, stat } from "node:fs/promises";
import { CaptureFormatError, CaptureReader, type CaptureReaderSummary } from "../capture/pcap.js";
import type { CoreExports } from "../core/core.js";
import { IwpmError } from "../core/errors.js";
import { coreModule } from "../host/wasm-node.js";
import { CaptureDecoder, type CaptureMessage, type DecodeStats, loadDecoderCore, type Side } from "../replay/decode.js";
import { loadDaemonCore } from "../replay/peer-engine.js";
import { CliError, type CliIO, EXIT } from "./command.js";

/** The client core with its decoder, a fresh instance per call (commands run in-process many times over in tests). */
export async function loadCore(): Promise<CoreExports> {
  let module: WebAssembly.Module;
  try {
    module = await coreModule("client");
    // The daemon core replays daemon-side captures and the peers' UDP exchanges.
    await loadDaemonCore(await coreModule("daemon"));
  } catch (err) {
    throw err instanceof IwpmError ? new CliError(err.message, EXIT.FAILURE) : err;
  }
  return loadDecoderCore(module);
}

const CHUNK = 1 << 20;
/** Files at least this large get a progress bar (on a terminal). */
const PROGRESS_FROM = 4 << 20;

export interface ReadOptions {
  side?: Side;
  /** Keep each message's bytes (for hex dumps). */
  keepBytes?: boolean;
  /** Receives each chunk's messages; may wait (output backpressure). */
  onMessages?: (batch: CaptureMessage[]) => Promise<void> | void;
  /**
   * Receives each message as soon as it is decoded, with its bytes (valid during the call only),
   * instead of in batches: nothing is held, so a large capture leaves little for the collector.
   */
  onMessage?: (m: CaptureMessage, bytes: Uint8Array) => void;
  /** Called after each chunk, when onMessage is used; may wait (output backpressure). */
  onChunk?: () => Promise<void> | void;
  /** Stop reading early (e.g. the output reader went away). */
  stopped?: () => boolean;
}

export interface ReadResult {
  stats: DecodeStats;
  capture: CaptureReaderSummary;
  bytes: number;
  /** Why the file could not be read to its end (code DAMAGED or TRUNCATED); the messages before were delivered. */
  error?: CaptureFormatError;
  /** Reading ended early because `stopped` said so. */
  stopped: boolean;
}

class Progress {
  private last = 0;
  private shown = false;
  constructor(
    private readonly io: CliIO,
    private readonly total: number,
    private readonly name: string,
  ) {}

  update(done: number, messages: number): void {
    const now = Date.now();
    if (now - this.last < 100) return;
    this.last = now;
    const width = Math.max(10, Math.min(40, (this.io.stderr.columns ?? 80) - 50));
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const filled = Math.round(frac * width);
    const mb = (n: number) => (n / 1048576).toFixed(1);
    this.io.stderr.write(
      `\r\x1b[K${this.name} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${mb(done)}/${mb(this.total)} MiB, ${messages} messages`,
    );
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.io.stderr.write("\r\x1b[K");
  }
}

async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  const fh = await open(path, "r");
  try {
    const buf = new Uint8Array(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

async function* streamChunks(stream: NodeJS.ReadableStream): AsyncGenerator<Uint8Array> {
  for await (const chunk of stream) {
    yield typeof chunk === "string" ? new TextEncoder().encode(chunk) : (chunk as Uint8Array);
  }
}

function inputError(path: string, err: unknown): CliError {
  const e = err as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    ENOENT: "no such file",
    EACCES: "permission denied",
    EISDIR: "it is a directory",
  };
  return new CliError(`cannot read ${path}: ${why[e.code ?? ""] ?? e.message}`, EXIT.INPUT);
}

/** Reads and decodes a capture file ("-" for stdin), handing messages over chunk by chunk. */
export async function readCaptureFile(path: string, io: CliIO, core: CoreExports, opts: ReadOptions): Promise<ReadResult> {
  let size = 0;
  if (path !== "-") {
    try {
      const st = await stat(path);
      if (st.isDirectory()) throw Object.assign(new Error("directory"), { code: "EISDIR" });
      size = st.size;
    } catch (err) {
      throw inputError(path, err);
    }
  }
  let batch: CaptureMessage[] = [];
  const decoder = new CaptureDecoder(core, {
    onMessage: opts.onMessage ?? ((m) => batch.push(m)),
    ...(opts.side ? { side: opts.side } : {}),
    ...(opts.keepBytes ? { keepBytes: true } : {}),
  });
  const reader = new CaptureReader((rec) => decoder.record(rec));
  const progress = io.stderr.isTTY && size >= PROGRESS_FROM ? new Progress(io, size, path) : undefined;
  let bytes = 0;
  const flush = async () => {
    await opts.onChunk?.();
    if (batch.length === 0) return;
    const out = batch;
    batch = [];
    await opts.onMessages?.(out);
  };
  let error: CaptureFormatError | undefined;
  let stopped = false;
  try {
    const chunks = path === "-" ? streamChunks(io.stdin) : fileChunks(path);
    try {
      for await (const chunk of chunks) {
        bytes += chunk.length;
        reader.push(chunk);
        await flush();
        progress?.update(bytes, decoder.stats.messages);
        if (opts.stopped?.()) {
          stopped = true;
          break;
        }
      }
    } catch (err) {
      if (!(err instanceof CaptureFormatError)) {
        if ((err as NodeJS.ErrnoException).code !== undefined) throw inputError(path, err);
        throw err;
      }
      if (reader.format === undefined || err.code !== "DAMAGED") throw formatError(path, err);
      // The records before the damage were decoded: show them, then say where it broke.
      error = err;
    }
    let capture: CaptureReaderSummary;
    if (error) capture = { format: reader.format, records: reader.records, trailingBytes: 0, linkTypes: [] };
    else {
      try {
        capture = reader.end();
      } catch (err) {
        if (err instanceof CaptureFormatError) throw formatError(path, err);
        throw err;
      }
      if (capture.tail && !stopped) error = capture.tail;
    }
    const stats = decoder.finish();
    await flush();
    return { stats, capture, bytes, stopped, ...(error ? { error } : {}) };
  } finally {
    progress?.clear();
  }
}

function formatError(path: string, err: CaptureFormatError): CliError {
  return new CliError(`${path}: ${err.message}`, EXIT.FORMAT);
}

/** Warnings worth a line on stderr after reading. */
export function readWarnings(path: string, r: ReadResult): string[] {
  const out: string[] = [];
  if (r.stats.truncatedRecords > 0) out.push(`${path}: ${r.stats.truncatedRecords} records were cut by the capture's snap length`);
  if (r.stats.messages === 0 && r.error === undefined && !r.stopped) {
    out.push(
      r.stats.records === 0
        ? `${path}: the capture holds no packets`
        : `${path}: no iwpm message in ${r.stats.records} packets (link types ${r.capture.linkTypes.join(", ")}; iwpm netlink is link type 253, peer traffic UDP port 3935)`,
    );
  }
  return out;
}

/** --side's value. */
export function parseSide(v: string | undefined): Side | undefined {
  if (v === undefined) return undefined;
  if (v === "client" || v === "daemon") return v;
  throw new CliError(`--side must be "client" or "daemon", not "${v}"`, EXIT.USAGE);
}
