// iwpm decode FILE...: every iwpm message of one or more captures, one line each, in the manner of
// tshark (frames numbered from 1, -t for the time column, a display filter, -x for the bytes).

import { basename } from "node:path";
import type { CaptureFormatError, Timestamp } from "../capture/pcap.js";
import { secondsBetween } from "../capture/pcap.js";
import type { CaptureMessage } from "../replay/decode.js";
import { compileFilter, type Filter, FilterError, type FilterSubject, filterFieldsHelp } from "../replay/filter.js";
import { directionText, fields, hexDump, isoTime, summary, type TextSink, writeJsonLine } from "../replay/format.js";
import { mergeByTime } from "../replay/merge.js";
import { StateBuilder } from "../replay/state.js";
import { CliError, type CliIO, type Command, EXIT, parseCommandArgs, write } from "./command.js";
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

/** Output bytes gathered before the caller is told to flush. */
const FLUSH_AT = 1 << 18;
/** Bytes of each output buffer (a piece that does not fit starts the next one). */
const BUFFER_SIZE = 1 << 20;
const NEWLINE = 0x0a;
const SPACE = 0x20;
const ZERO = 0x30;
const DOT = 0x2e;
const C = 0x63;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const DEL = 0x7f;
const REPLACEMENT = 0xfffd;
/** Texts longer than this are encoded by Buffer.write. */
const ENCODER_FROM = 64;
/** Numbers up to this are formatted with 32-bit integer arithmetic. */
const INT_MAX = 0x7fffffff;

/**
 * The output, written straight into bytes: numbers as digits, ASCII text char by char, other text
 * by the UTF-8 encoder. No string per line or per chunk is built, so nothing is left for the
 * collector to copy or flatten. Each full buffer is handed to the stream as it is (the stream may
 * keep it) and a new one started.
 */
class ByteWriter implements TextSink {
  private buf = Buffer.allocUnsafe(BUFFER_SIZE);
  private pos = 0;
  private full: Buffer[] = [];
  private size = 0;
  closed = false;

  constructor(private readonly stream: NodeJS.WritableStream) {
    // A reader that went away (`| head`) ends the output, not the process.
    stream.on("error", () => {
      this.closed = true;
    });
  }

  /** Whether enough is buffered that the caller should flush() before adding more. */
  get due(): boolean {
    return this.size + this.pos >= FLUSH_AT;
  }

  /** Makes room for `n` more bytes. */
  private room(n: number): Buffer {
    if (this.pos + n > this.buf.length) {
      if (this.pos > 0) {
        this.full.push(this.buf.subarray(0, this.pos));
        this.size += this.pos;
      }
      this.buf = Buffer.allocUnsafe(Math.max(BUFFER_SIZE, n));
      this.pos = 0;
    }
    return this.buf;
  }

  /** Text known to be ASCII (labels, names, numbers formatted by JS). */
  ascii(s: string): void {
    const n = s.length;
    const b = this.room(n);
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /**
   * Any text, UTF-8 encoded: short texts here (mostly ASCII, where a loop beats a call into the
   * encoder), long ones (a -v or -x line, JSON.stringify's output) by the encoder, which flattens
   * a text built from pieces once instead of walking the pieces per character. A lone surrogate
   * becomes U+FFFD either way.
   */
  text(s: string): void {
    const n = s.length;
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const b = this.room(n * 3);
    if (n > ENCODER_FROM) {
      this.pos += b.write(s, this.pos);
      return;
    }
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) {
        b[p++] = c;
        continue;
      }
      if (c < 0x800) {
        b[p++] = 0xc0 | (c >> 6);
        b[p++] = 0x80 | (c & 0x3f);
        continue;
      }
      if (c >= 0xd800 && c < 0xe000) {
        const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
        if (c < 0xdc00 && d >= 0xdc00 && d < 0xe000) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          b[p++] = 0xf0 | (c >> 18);
          b[p++] = 0x80 | ((c >> 12) & 0x3f);
          b[p++] = 0x80 | ((c >> 6) & 0x3f);
          b[p++] = 0x80 | (c & 0x3f);
          continue;
        }
        c = REPLACEMENT;
      }
      b[p++] = 0xe0 | (c >> 12);
      b[p++] = 0x80 | ((c >> 6) & 0x3f);
      b[p++] = 0x80 | (c & 0x3f);
    }
    this.pos = p;
  }

  bytes(a: Uint8Array): void {
    const n = a.length;
    const b = this.room(n);
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = a[i] as number;
    this.pos = p;
  }

  /** A whole number ≥ 0 in decimal. */
  uint(v: number): void {
    if (v > INT_MAX) {
      this.ascii(String(v));
      return;
    }
    const digits = digitCount(v);
    const b = this.room(digits);
    let p = this.pos + digits;
    this.pos = p;
    do {
      const q = (v / 10) | 0;
      b[--p] = ZERO + v - q * 10;
      v = q;
    } while (v > 0);
  }

  zeroPadded(v: number, width: number): void {
    const b = this.room(width);
    let p = this.pos + width;
    this.pos = p;
    for (let i = 0; i < width; i++) {
      const q = (v / 10) | 0;
      b[--p] = ZERO + v - q * 10;
      v = q;
    }
  }

  quoted(s: string): boolean {
    const n = s.length;
    const b = this.room(n + 2);
    const start = this.pos;
    let p = start;
    b[p++] = QUOTE;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < SPACE || c >= DEL || c === QUOTE || c === BACKSLASH) return false;
      b[p++] = c;
    }
    b[p++] = QUOTE;
    this.pos = p;
    return true;
  }

  byte(c: number): void {
    this.room(1)[this.pos++] = c;
  }

  spaces(n: number): void {
    if (n <= 0) return;
    const b = this.room(n);
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = SPACE;
    this.pos = p;
  }

  /** `s` ASCII, with spaces before it up to `width` characters. */
  asciiStart(s: string, width: number): void {
    this.spaces(width - s.length);
    this.ascii(s);
  }

  line(s: string): void {
    this.text(s);
    this.byte(NEWLINE);
  }

  async flush(): Promise<void> {
    if (this.pos > 0) {
      this.full.push(this.buf.subarray(0, this.pos));
      this.buf = Buffer.allocUnsafe(BUFFER_SIZE);
      this.pos = 0;
    }
    const out = this.full;
    this.full = [];
    this.size = 0;
    for (const chunk of out) {
      if (this.closed) return;
      if (!(await write(this.stream, chunk))) this.closed = true;
    }
  }
}

/** Decimal digits of a whole number from 0 to INT_MAX. */
function digitCount(v: number): number {
  if (v < 100000) return v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : 5;
  return v < 1000000 ? 6 : v < 10000000 ? 7 : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
}

const encoder = new TextEncoder();
const DIRECTION_WIDTH = 13;
const LABEL_WIDTH = 22;
const FRAME_WIDTH = 7;
/** The seconds forms of the time column (-t r, d, dd). */
const TIME_WIDTH = 12;
/** The direction column, padded, by message: the three texts encoded once. */
const DIRECTION_BYTES = new Map(
  ["client→daemon", "daemon→client", "peer"].map((d) => [d, encoder.encode(d.padEnd(DIRECTION_WIDTH))] as const),
);

/** Formats messages in timeline order, keeping what the time deltas need. */
class Printer {
  private prevAll: Timestamp | undefined;
  private prevShown: Timestamp | undefined;

  constructor(
    private readonly out: ByteWriter,
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
    const out = this.out;
    if (o.json) {
      // -x adds the bytes as a "bytes" member (kept with the message): each line stays one object.
      writeJsonLine(out, m, frame, msg, o.tagged ? file : undefined);
      out.byte(NEWLINE);
      return;
    }
    const parts = m.proto === "netlink" && m.parts > 1;
    out.spaces(FRAME_WIDTH - digitCount(frame) - (parts ? 1 + digitCount(msg) : 0));
    out.uint(frame);
    if (parts) {
      out.byte(DOT);
      out.uint(msg);
    }
    out.byte(SPACE);
    const when = this.timeText(m, time, prevAll, prevShown);
    if (o.time === "a" || o.time === "e") out.ascii(when);
    else out.asciiStart(when, TIME_WIDTH);
    if (o.tagged) {
      out.spaces(2);
      out.text(file);
    }
    out.spaces(2);
    out.bytes(DIRECTION_BYTES.get(directionText(m)) as Uint8Array);
    out.spaces(2);
    out.ascii(m.label);
    out.spaces(Math.max(0, LABEL_WIDTH - m.label.length) + 1);
    if (m.proto === "netlink") {
      if (m.client !== undefined) {
        out.byte(C);
        out.uint(m.client);
        out.byte(SPACE);
      }
      out.ascii("seq ");
      out.uint(m.seq);
      out.ascii(" pid ");
      out.uint(m.pid);
    } else {
      out.ascii("IPv");
      out.uint(m.ipVersion);
    }
    const what = summary(m);
    if (what !== "") {
      out.spaces(2);
      out.text(what);
    }
    out.byte(NEWLINE);
    if (o.verbose) {
      for (const [k, v] of fields(m)) out.line(`      ${k.padEnd(14)} ${v}`);
      if (!o.hex) out.byte(NEWLINE);
    }
    if (o.hex) {
      for (const l of hexDump(m)) out.line(`      ${l}`);
      out.byte(NEWLINE);
    }
  }

  /** The time column; the seconds forms unpadded (TIME_WIDTH). */
  private timeText(m: CaptureMessage, time: number, prevAll?: Timestamp, prevShown?: Timestamp): string {
    const t = m.timestamp;
    switch (this.o.time) {
      case "a":
        return isoTime(t.sec, t.nsec);
      case "e":
        return `${t.sec}.${String(t.nsec).padStart(9, "0")}`;
      case "d":
        return (prevAll ? secondsBetween(prevAll, t) : 0).toFixed(6);
      case "dd":
        return (prevShown ? secondsBetween(prevShown, t) : 0).toFixed(6);
      default:
        return time.toFixed(6);
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
  const out = new ByteWriter(io.stdout);
  const printer = new Printer(out, o);
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
      onChunk: () => out.flush(),
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
    await printMerged(files, printer, out);
  }
  await out.flush();
  return report(results, io, out.closed);
}

async function printMerged(files: Decoded[], printer: Printer, out: ByteWriter): Promise<void> {
  const inputs = files.map((f) => ({ messages: f.messages, first: f.result.stats.first }));
  for (const [i, m, time] of mergeByTime(inputs)) {
    if (out.closed) return;
    const f = files[i] as Decoded;
    printer.print(m, f.tag, time, f.anomalies?.get(m.index));
    if (out.due) await out.flush();
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
