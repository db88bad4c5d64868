// Messages between the page (main.ts) and its decoding worker (worker.ts). Every message carries
// the generation of the opening it belongs to: the page drops whatever arrives for a capture it
// no longer shows, so nothing of a previous file can reach the screen.

import type { Timestamp } from "../capture/pcap.js";
import type { DecodeStats } from "../replay/decode.js";
import type { ByteRange } from "../replay/format.js";
import type { State } from "../replay/state.js";

/** Per-message columns, posted in chunks as decoding goes (transferred, not copied). */
export interface Columns {
  /** Seconds since the first record (of all files, when several are merged). */
  time: Float64Array;
  /** Compact message code (src/replay/names.ts). */
  code: Uint8Array;
  /** Client index, 255 when none. */
  client: Uint8Array;
  seq: Uint32Array;
  pid: Uint32Array;
  /** 1 when the message did not decode. */
  invalid: Uint8Array;
  /** Capture record in its file, from 1 (tshark's frame number). */
  frame: Uint32Array;
  /** Position in its frame from 1 when the datagram holds several messages, 0 when it is alone. */
  part: Uint16Array;
  /** The input file, by its position in the opening's list. */
  file: Uint8Array;
}

export interface OpenFile {
  blob: Blob;
  name: string;
}

/** What a worker does with an opening: list the messages, or replay them (worker.ts). */
export type Role = "list" | "analysis";

export type ToWorker =
  | { type: "open"; gen: number; files: OpenFile[]; role: Role }
  | { type: "rows"; gen: number; id: number; indices: number[] }
  | { type: "detail"; gen: number; index: number }
  | { type: "state"; gen: number; id: number; time?: number; index?: number; limit: number }
  | { type: "filter"; gen: number; id: number; expr: string }
  /** The analysis's anomaly kinds, by message index, handed to the lister for the filter. */
  | { type: "kinds"; gen: number; index: Uint32Array; kinds: string[] };

/** Every message listed: the page is ready to scroll, read and filter. */
export interface Listed {
  type: "listed";
  gen: number;
  /** The input files' names, in the order of `Columns.file`. */
  names: string[];
  /** Per file. */
  stats: DecodeStats[];
  /** The timestamp that `Columns.time` counts from. */
  origin: Timestamp;
  duration: number;
  hasNetlink: boolean;
  hasPeer: boolean;
  warnings: string[];
  ms: number;
}

/** The replay done: the state over time can be asked for. */
export interface Analysed {
  type: "analysed";
  gen: number;
  /** Anomalies by message: index and severity (0 info, 1 warning, 2 error). */
  anomalyIndex: Int32Array;
  anomalySeverity: Uint8Array;
  /** By message: the reply of a request, the request of a reply, −1 for neither. */
  partner: Int32Array;
  /** Each anomaly's message and kind, for the filter's `anomaly` field (each file's own replay when merged). */
  kindIndex: Uint32Array;
  kindNames: string[];
  ms: number;
}

export interface Detail {
  type: "detail";
  gen: number;
  index: number;
  label: string;
  fields: [string, string][];
  bytes: Uint8Array;
  ranges: ByteRange[];
}

export type FromWorker =
  | { type: "loading"; gen: number; names: string[]; total: number }
  | { type: "progress"; gen: number; bytes: number; total: number; messages: number; columns?: Columns }
  | Listed
  | { type: "analysing"; gen: number; fraction: number }
  | Analysed
  | { type: "error"; gen: number; message: string }
  | { type: "rows"; gen: number; id: number; indices: number[]; rows: RowText[] }
  | Detail
  | { type: "state"; gen: number; id: number; state: State }
  | { type: "filtered"; gen: number; id: number; indices: Uint32Array }
  | { type: "filterProgress"; gen: number; id: number; fraction: number }
  | { type: "filterError"; gen: number; id: number; message: string; position: number };

export interface RowText {
  dir: string;
  summary: string;
}
