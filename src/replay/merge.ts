// Several captures as one timeline, by timestamp: for the CLI and the browser page alike, so no
// host imports here.

import { secondsBetween, type Timestamp } from "../capture/pcap.js";
import type { CaptureMessage } from "./decode.js";

/** What merging looks at: the capture timestamp, and seconds since the file's first record. */
export interface Timed {
  timestamp: Timestamp;
  time: number;
}

/** One input's messages for a merged timeline, and its first record's time. */
export interface FileMessages<M extends Timed = CaptureMessage> {
  messages: readonly M[];
  first: Timestamp | undefined;
}

/**
 * The messages of several inputs in timestamp order (the earlier file first on a tie, each
 * file's own order kept), as [file, message, seconds since the earliest first record of all].
 */
export function* mergeByTime<M extends Timed>(files: readonly FileMessages<M>[]): Generator<[number, M, number]> {
  let origin: Timestamp | undefined;
  for (const f of files) if (f.first && (origin === undefined || secondsBetween(f.first, origin) > 0)) origin = f.first;
  // m.time counts from its own file's first record; shift it to the common origin.
  const shift = files.map((f) => (origin && f.first ? secondsBetween(origin, f.first) : 0));
  const next = files.map(() => 0);
  for (;;) {
    let best = -1;
    let bestTs: Timestamp | undefined;
    for (let i = 0; i < files.length; i++) {
      const m = files[i]?.messages[next[i] as number];
      if (m === undefined) continue;
      const ts = m.timestamp;
      if (bestTs === undefined || ts.sec < bestTs.sec || (ts.sec === bestTs.sec && ts.nsec < bestTs.nsec)) {
        best = i;
        bestTs = ts;
      }
    }
    if (best < 0) return;
    const m = files[best]?.messages[next[best] as number] as M;
    next[best] = (next[best] as number) + 1;
    yield [best, m, m.time + (shift[best] as number)];
  }
}
