// iwpm decode FILE...: every iwpm message of one or more captures, one line each, in the manner of
// tshark (frames numbered from 1, -t for the time column, a display filter, -x for the bytes).

import { basename } from "node:path";
import type { CaptureFormatError, Timestamp } from "../capture/pcap.js";
import { secondsBetween } from "../capture/pcap.js";
import type { CaptureMessage } from "../replay/decode.js";
import { compileFilter, type Filter, FilterError, type FilterSubject, filterFieldsHelp } from "../replay/filter.js";
import { directionText, fields, hexDump, isoTime, jsonLine, summary } from "../replay/format.js";
import { mergeByTime } from "../replay/merge.js";
import { StateBuilder } from "../replay/state.js";
import { CliError, type CliIO, type Command, EXIT, LineWriter, parseCommandArgs } from "./command.js";
import { loadCore, parseSide, type ReadResult, readCaptureFile, readWarnings } from "./load.js";

const help = `Usage: iwpm decode [options] FILE...

Decodes every iwpm message in captures: the netlink traffic between a port
mapper client and iwpmd (pcap or pcapng, link type 253, e.g. written by
CaptureTap or by the iwpmd preload library's IWPM_CAPTURE mode), and iwpmd's
peer messages on UDP port 3935 in an ordinary tcpdump/Wireshark capture
(Ethernet, Linux cooked SLL/SLL2, loopback, raw IP). FILE "-" reads stdin.
Several FILEs are merged into one timeline by timestamp, each message tagged
with its file (e.g. the captures of two hosts).

One line per message:
  FRAME  TIME  [FILE]  DIRECTION  MESSAGE  cCLIENT seq SEQ pid PID  SUMMARY
FRAME is the capture record's number, from 1 as in tshark; "3.2" is the second
message of frame 3 when one datagram holds several.

Options:
  -t FORMAT          the time column, as tshark's -t:
                       r   seconds since the first packet (default)
                       d   seconds since the previous message
                       dd  seconds since the previous message shown
                       a, ad, u, ud  absolute UTC date and time (always UTC
                           with the date, so hosts' captures line up)
                       e   seconds since 1970
      --absolute     the same as -t a
  -Y, --filter EXPR  only the messages EXPR matches (see below)
  -x                 the bytes of each message in hex, with the byte range of
                     every header field and attribute (with --json: a "bytes"
                     member in hex)
  -v, --verbose      every field of every message
      --json         one JSON object per line (JSON Lines); -v and -t do not
                     change it
      --side SIDE    which socket the netlink capture was taken on: "client"
                     (sent = to the daemon) or "daemon" (sent = to the client);
                     inferred from the messages (per file) by default
  -h, --help         this text

Filter expressions: tests joined with && (and), || (or), ! (not) and
parentheses. A test is FIELD (the message has one), FIELD CMP VALUE with CMP one
of == != < <= > >=, or FIELD & MASK (any of the bits set). A field with several
values (every address of a message) matches when any value does.
  ${filterFieldsHelp().join("\n  ")}
Examples:
  -Y 'op == ADD_MAPPING && dir == to_client && err'
  -Y 'addr == 10.0.0.1:5555 || (peer && op == REJECT)'
  -Y 'anomaly == unanswered'     (replays each capture first)

Exit codes: 0 decoded (malformed messages are reported, not fatal),
2 bad usage or filter, 3 unreadable file, 4 not a pcap/pcapng file, or one
that is damaged or cut short (the messages before the damage are printed).`;

type TimeFormat = "r" | "d" | "dd" | "a" | "e";

const TIME_FORMATS: Record<string, TimeFormat> = { r: "r", d: "d", dd: "dd", a: "a", ad: "a", u: "a", ud: "a", e: "e" };

function parseTimeFormat(v: string | undefined, absolute: boolean): TimeFormat {
  if (v === undefined) return absolute ? "a" : "r";
  const f = Object.hasOwn(TIME_FORMATS, v) ? TIME_FORMATS[v] : undefined;
  if (f === undefined) throw new CliError(`-t takes r, d, dd, a, ad, u, ud or e, not "${v}"`, EXIT.USAGE);
  return f;
}

interface Options {
  json: boolean;
  verbose: boolean;
  hex: boolean;
  time: TimeFormat;
  filter: Filter | undefined;
  /** Whether a FILE column is shown (several inputs). */
  tagged: boolean;
}

/** Characters of output lines joined into one string at a time. */
const COMPACT_AT = 1 << 16;

/**
 * Lines on their way to a LineWriter, joined into one flat string every COMPACT_AT characters: a
 * line built from many pieces is a tree of them until flattened, and a chunk's worth of such
 * trees would survive collections (and be copied by each) until the chunk is written.
 */
class CompactLines {
  private lines: string[] = [];
  private size = 0;

  constructor(private readonly out: LineWriter) {}

  add(line: string): void {
    this.lines.push(line);
    this.size += line.length + 1;
    if (this.size >= COMPACT_AT) this.compact();
  }

  /** Hands what is held to the writer; call before flushing it. */
  compact(): void {
    if (this.lines.length === 0) return;
    this.out.add(this.lines.join("\n"));
    this.lines = [];
    this.size = 0;
  }
}

/** Formats messages in timeline order, keeping what the time deltas need. */
class Printer {
  private prevAll: Timestamp | undefined;
  private prevShown: Timestamp | undefined;

  constructor(
    private readonly out: CompactLines,
    private readonly o: Options,
  ) {}

  /**
   * Adds the message's lines to the output (the caller flushes when it is due); `time`: seconds
   * since the start of the timeline; `anomalies`: for the filter.
   */
  print(m: CaptureMessage, file: string, time: number, anomalies?: readonly string[]): void {
    const frame = m.record + 1;
    const msg = m.proto === "netlink" ? m.part + 1 : 1;
    const prevAll = this.prevAll;
    this.prevAll = m.timestamp;
    const o = this.o;
    if (o.filter) {
      const s: FilterSubject = { m, frame, msg, file, time };
      if (anomalies) s.anomalies = anomalies;
      if (!o.filter.test(s)) return;
    }
    const prevShown = this.prevShown;
    this.prevShown = m.timestamp;
    if (o.json) {
      // -x adds the bytes as a "bytes" member (kept with the message): each line stays one object.
      this.out.add(jsonLine(m, frame, msg, o.tagged ? file : undefined));
      return;
    }
    const parts = m.proto === "netlink" && m.parts > 1;
    const frameText = (parts ? `${frame}.${msg}` : String(frame)).padStart(7);
    const head = m.proto === "netlink" ? `${m.client !== undefined ? `c${m.client} ` : ""}seq ${m.seq} pid ${m.pid}` : `IPv${m.ipVersion}`;
    const tag = o.tagged ? `  ${file}` : "";
    const what = summary(m);
    this.out.add(
      `${frameText} ${this.timeText(m, time, prevAll, prevShown)}${tag}  ${directionText(m).padEnd(13)}  ${m.label.padEnd(22)} ${head}${what === "" ? "" : `  ${what}`}`,
    );
    if (o.verbose) {
      for (const [k, v] of fields(m)) this.out.add(`      ${k.padEnd(14)} ${v}`);
      if (!o.hex) this.out.add("");
    }
    if (o.hex) {
      for (const l of hexDump(m)) this.out.add(`      ${l}`);
      this.out.add("");
    }
  }

  private timeText(m: CaptureMessage, time: number, prevAll?: Timestamp, prevShown?: Timestamp): string {
    const t = m.timestamp;
    switch (this.o.time) {
      case "a":
        return isoTime(t.sec, t.nsec);
      case "e":
        return `${t.sec}.${String(t.nsec).padStart(9, "0")}`;
      case "d":
        return (prevAll ? secondsBetween(prevAll, t) : 0).toFixed(6).padStart(12);
      case "dd":
        return (prevShown ? secondsBetween(prevShown, t) : 0).toFixed(6).padStart(12);
      default:
        return time.toFixed(6).padStart(12);
    }
  }
}

interface Decoded {
  path: string;
  tag: string;
  messages: CaptureMessage[];
  anomalies: Map<number, string[]> | undefined;
  result: ReadResult;
}

/** Anomaly kinds by message index, from the replay of a file's messages. */
function anomalyKinds(b: StateBuilder): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const a of b.finish().anomalies) {
    const list = out.get(a.index);
    if (list) list.push(a.kind);
    else out.set(a.index, [a.kind]);
  }
  return out;
}

/** Short tags for the FILE column: base names, or the paths as given when two base names clash. */
function fileTags(paths: string[]): string[] {
  const names = paths.map((p) => (p === "-" ? "stdin" : basename(p)));
  return new Set(names).size === names.length ? names : paths;
}

async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    verbose: { type: "boolean", short: "v" },
    json: { type: "boolean" },
    absolute: { type: "boolean" },
    side: { type: "string" },
    time: { type: "string", short: "t" },
    filter: { type: "string", short: "Y" },
    hex: { type: "boolean", short: "x" },
  });
  if (values.help) {
    io.stdout.write(`${help}\n`);
    return EXIT.OK;
  }
  if (positionals.length === 0) throw new CliError("a capture FILE is required (see iwpm decode --help)", EXIT.USAGE);
  if (positionals.filter((p) => p === "-").length > 1) throw new CliError('stdin ("-") can be read only once', EXIT.USAGE);
  let filter: Filter | undefined;
  if (values.filter !== undefined) {
    try {
      filter = compileFilter(values.filter as string);
    } catch (err) {
      if (err instanceof FilterError)
        throw new CliError(`bad --filter: ${err.message}\n  ${values.filter}\n  ${" ".repeat(err.position)}^`, EXIT.USAGE);
      throw err;
    }
  }
  const side = parseSide(values.side as string | undefined);
  const o: Options = {
    json: values.json === true,
    verbose: values.verbose === true,
    hex: values.hex === true,
    time: parseTimeFormat(values.time as string | undefined, values.absolute === true),
    filter,
    tagged: positionals.length > 1,
  };
  const core = await loadCore();
  const out = new LineWriter(io.stdout);
  const lines = new CompactLines(out);
  const printer = new Printer(lines, o);
  const tags = fileTags(positionals);
  const readOpts = { ...(side ? { side } : {}), ...(o.hex ? { keepBytes: true } : {}) };
  const results: { path: string; result: ReadResult }[] = [];

  if (positionals.length === 1 && !filter?.usesAnomalies) {
    // One file: stream it.
    const path = positionals[0] as string;
    const tag = tags[0] as string;
    const result = await readCaptureFile(path, io, core, {
      ...readOpts,
      stopped: () => out.closed,
      // Printed as decoded, each message is garbage at once; the output is written between chunks.
      onMessage: (m) => printer.print(m, tag, m.time),
      onChunk: () => {
        lines.compact();
        return out.flush();
      },
    });
    results.push({ path, result });
  } else {
    // Several files (or anomalies wanted): read each, then merge by timestamp.
    const files: Decoded[] = [];
    for (const [i, path] of positionals.entries()) {
      const messages: CaptureMessage[] = [];
      const builder = filter?.usesAnomalies ? new StateBuilder() : undefined;
      const result = await readCaptureFile(path, io, core, {
        ...readOpts,
        onMessage: (m, bytes) => {
          messages.push(m);
          builder?.add(m, bytes);
        },
      });
      files.push({ path, tag: tags[i] as string, messages, result, anomalies: builder ? anomalyKinds(builder) : undefined });
      results.push({ path, result });
    }
    await printMerged(files, printer, lines, out);
  }
  lines.compact();
  await out.flush();
  return report(results, io, out.closed);
}

async function printMerged(files: Decoded[], printer: Printer, lines: CompactLines, out: LineWriter): Promise<void> {
  const inputs = files.map((f) => ({ messages: f.messages, first: f.result.stats.first }));
  for (const [i, m, time] of mergeByTime(inputs)) {
    if (out.closed) return;
    const f = files[i] as Decoded;
    printer.print(m, f.tag, time, f.anomalies?.get(m.index));
    if (out.due) {
      lines.compact();
      await out.flush();
    }
  }
}

/** Warnings and errors after the output; the exit code. */
function report(results: { path: string; result: ReadResult }[], io: CliIO, closed: boolean): number {
  let failed: CaptureFormatError | undefined;
  for (const { path, result } of results) {
    if (!closed) for (const w of readWarnings(path, result)) io.stderr.write(`iwpm decode: ${w}\n`);
    const s = result.stats;
    if (s.invalid > 0 && !closed) {
      const by = Object.entries(s.invalidByStatus)
        .map(([k, n]) => `${n} ${k}`)
        .join(", ");
      io.stderr.write(`iwpm decode: ${path}: ${s.invalid} of ${s.netlinkMessages} netlink messages are malformed (${by})\n`);
    }
    if (result.error) {
      io.stderr.write(`iwpm decode: ${path}: ${result.error.message}\n`);
      failed ??= result.error;
    }
    if (io.stderr.isTTY && !closed) {
      io.stderr.write(
        `${path}: ${s.messages} messages (${s.netlinkMessages} netlink, ${s.peerMessages} peer) in ${s.records} packets` +
          (s.netlinkMessages > 0 ? `; netlink captured on the ${s.side} side${s.sideInferred ? " (inferred)" : ""}` : "") +
          "\n",
      );
    }
  }
  return failed ? EXIT.FORMAT : EXIT.OK;
}

export const command: Command = {
  name: "decode",
  summary: "print every iwpm message of captures (pcap/pcapng), like tshark",
  help,
  run,
};
export default command;
