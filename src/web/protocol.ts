// Messages between the page (main.ts) and its decoding worker (worker.ts).

import type { DecodeStats } from "../replay/decode.js";
import type { State } from "../replay/state.js";

/** Per-message columns, posted in chunks as decoding goes (transferred, not copied). */
export interface Columns {
  /** Seconds since the first record. */
  time: Float64Array;
  /** Compact message code (src/replay/names.ts). */
  code: Uint8Array;
  /** Client index, 255 when none. */
  client: Uint8Array;
  seq: Uint32Array;
  pid: Uint32Array;
  /** 1 when the message did not decode. */
  invalid: Uint8Array;
}

export type ToWorker =
  | { type: "open"; file: Blob; name: string }
  | { type: "openUrl"; url: string }
  | { type: "rows"; id: number; start: number; count: number }
  | { type: "detail"; id: number; index: number }
  | { type: "state"; id: number; time?: number; index?: number; limit: number };

export interface Done {
  type: "done";
  name: string;
  stats: DecodeStats;
  duration: number;
  /** Anomalies by message: index and severity (0 info, 1 warning, 2 error). */
  anomalyIndex: Int32Array;
  anomalySeverity: Uint8Array;
  hasNetlink: boolean;
  hasPeer: boolean;
  warnings: string[];
  ms: number;
}

export type FromWorker =
  | { type: "loading"; name: string; total: number }
  | { type: "progress"; bytes: number; total: number; messages: number; columns: Columns }
  | Done
  | { type: "error"; message: string }
  | { type: "rows"; id: number; start: number; rows: RowText[] }
  | { type: "detail"; id: number; index: number; label: string; fields: [string, string][] }
  | { type: "state"; id: number; state: State };

export interface RowText {
  dir: string;
  summary: string;
}
