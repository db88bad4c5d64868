// The message filter language of `iwpm decode --filter` and the replay page's filter box.
//
//   expr   := or
//   or     := and ( ("||" | "or") and )*
//   and    := unary ( ("&&" | "and") unary )*
//   unary  := ("!" | "not") unary | "(" expr ")" | test
//   test   := FIELD | FIELD CMP VALUE | FIELD "&" VALUE
//   CMP    := "==" | "!=" | "<" | "<=" | ">" | ">="  (also eq ne lt le gt ge)
//
// A field may have several values in one message (every address of a QUERY_MAPPING reply, say):
// `==`, `<`, … match when any value does, and `a != b` is `!(a == b)`. A bare FIELD matches when
// the message has a value for it. Portable: it runs in the browser page too, so no host imports.

import type { CaptureMessage } from "./decode.js";
import { DIR_TO_DAEMON, IWPM_ERRORS, OP_NAMES, PEER_TYPES } from "./names.js";

/** What a filter looks at: the message and where it sits in the (merged) timeline. */
export interface FilterSubject {
  m: CaptureMessage;
  /** Capture record (frame) number, from 1 like tshark's. */
  frame: number;
  /** Position of the message in its frame, from 1. */
  msg: number;
  /** The input file's tag (its name as given). */
  file: string;
  /** Seconds since the start of the timeline. */
  time: number;
  /** Kinds of the anomalies the replay reports for this message. */
  anomalies?: readonly string[];
}

export type FilterErrorCode = "BAD_FILTER";

/** A filter that does not parse; `position` is the 0-based column of the offending text. */
export class FilterError extends Error {
  override readonly name = "FilterError";
  readonly code: FilterErrorCode = "BAD_FILTER";
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} (at position ${position + 1})`);
  }
}

export interface Filter {
  test(s: FilterSubject): boolean;
  /** Whether the filter needs `anomalies` (the caller then has to replay the capture first). */
  readonly usesAnomalies: boolean;
}

type Value = number | string;
type Kind = "number" | "name" | "endpoint" | "flag";

interface FieldDef {
  kind: Kind;
  help: string;
  values(s: FilterSubject): readonly Value[];
  /** Words the field's values can be written as (names compare case-insensitively). */
  words?: readonly string[];
}

const NONE: readonly Value[] = [];

function endpointsOf(m: CaptureMessage): string[] {
  if (m.proto === "peer") {
    const w = m.wire;
    const ep = (ip: string, port: number) => (ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`);
    const out = [m.src, m.dst, ep(w.cpIp, w.cpport), ep(w.apIp, w.apport)];
    if (w.mappedCpIp !== undefined) out.push(ep(w.mappedCpIp, w.mappedCpPort));
    return out;
  }
  const out: string[] = [];
  for (const k in m.attrs) {
    const v = m.attrs[k];
    if (typeof v === "string" && splitEndpoint(v) !== null) out.push(v);
  }
  return out;
}

/** "10.0.0.1:5" → ["10.0.0.1", 5]; "[fd00::1]:5" → ["fd00::1", 5]; null when not an endpoint. */
function splitEndpoint(text: string): [string, number] | null {
  const m = /^(?:\[([0-9a-fA-F:.]+(?:%\w+)?)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(text);
  if (m === null) return null;
  return [(m[1] ?? m[2] ?? "").toLowerCase(), Number(m[3])];
}

function errorsOf(m: CaptureMessage): Value[] {
  if (m.proto === "peer") return [];
  const out: Value[] = [];
  for (const k of ["err", "errCode", "pidErr"]) {
    const v = m.attrs[k];
    if (typeof v === "number" && v !== 0) out.push(v, IWPM_ERRORS[v] ?? "");
  }
  const c = m.control?.value;
  if (m.kind === "error" && c !== undefined && c !== 0) out.push(c);
  return out;
}

const FIELDS: Record<string, FieldDef> = {
  op: {
    kind: "name",
    help: "a name (ADD_MAPPING, NLMSG_ERROR, a peer REQUEST, …) or an iwpm op number",
    words: [...OP_NAMES, "NLMSG_ERROR", "NLMSG_DONE", ...PEER_TYPES],
    values: ({ m }) => {
      if (m.proto === "peer") return [m.wire.typeName, m.wire.type];
      if (m.op !== undefined) return [m.opName ?? "", m.op];
      return m.kind === "error" ? ["NLMSG_ERROR"] : m.kind === "done" ? ["NLMSG_DONE"] : NONE;
    },
  },
  dir: {
    kind: "name",
    help: "to_daemon, to_client or peer",
    words: ["to_daemon", "to_client", "peer"],
    values: ({ m }) => [m.proto === "peer" ? "peer" : m.dir === DIR_TO_DAEMON ? "to_daemon" : "to_client"],
  },
  client: {
    kind: "number",
    help: "the client index of the netlink type",
    values: ({ m }) => (m.proto === "netlink" && m.client !== undefined ? [m.client] : NONE),
  },
  seq: {
    kind: "number",
    help: "nlmsg_seq, or a sequence number the message answers",
    values: ({ m }) => {
      if (m.proto === "peer") return NONE;
      const out: Value[] = [m.seq];
      for (const k of ["requestSeq", "errSeq", "echoSeq"]) {
        const v = m.attrs[k];
        if (typeof v === "number") out.push(v);
      }
      if (m.control?.header) out.push(m.control.header.seq);
      return out;
    },
  },
  pid: { kind: "number", help: "nlmsg_pid", values: ({ m }) => (m.proto === "netlink" ? [m.pid] : NONE) },
  len: { kind: "number", help: "nlmsg_len", values: ({ m }) => (m.proto === "netlink" ? [m.len] : NONE) },
  type: { kind: "number", help: "nlmsg_type", values: ({ m }) => (m.proto === "netlink" ? [m.type] : NONE) },
  flags: { kind: "number", help: "nlmsg_flags (test bits with &)", values: ({ m }) => (m.proto === "netlink" ? [m.flags] : NONE) },
  mapflags: {
    kind: "number",
    help: "the mapping FLAGS attribute (1: NO_PORT_MAP)",
    values: ({ m }) => (m.proto === "netlink" && typeof m.attrs.flags === "number" ? [m.attrs.flags] : NONE),
  },
  addr: {
    kind: "endpoint",
    help: "any address in the message: an IP, or IP:PORT ([IPv6]:PORT)",
    values: ({ m }) => endpointsOf(m),
  },
  port: {
    kind: "number",
    help: "any port in the message",
    values: ({ m }) => endpointsOf(m).map((e) => (splitEndpoint(e) as [string, number])[1]),
  },
  err: {
    kind: "name",
    help: "a non-zero error: an IWPM_* code (number or name) or an NLMSG_ERROR errno (negative)",
    words: Object.values(IWPM_ERRORS),
    values: ({ m }) => errorsOf(m),
  },
  status: {
    kind: "name",
    help: "why the core rejects a malformed message (its status name)",
    values: ({ m }) => (m.proto === "netlink" && m.status !== 0 ? [m.statusName, m.status] : NONE),
  },
  invalid: { kind: "flag", help: "a malformed message", values: ({ m }) => (m.proto === "netlink" && m.status !== 0 ? [1] : NONE) },
  echo: {
    kind: "flag",
    help: "a client's own request coming back to it",
    values: ({ m }) => (m.proto === "netlink" && m.echo ? [1] : NONE),
  },
  anomaly: {
    kind: "name",
    help: "an anomaly the replay reports for the message (unanswered, stray-response, …)",
    words: [
      "unanswered",
      "late-response",
      "stray-response",
      "duplicate-response",
      "handle-err",
      "query-rejected",
      "daemon-restart",
      "invalid-message",
      "netlink-error",
      "mapinfo-count",
      "unknown-remove",
      "peer-unanswered",
      "peer-unacked",
      "peer-reject",
    ],
    values: (s) => s.anomalies ?? NONE,
  },
  netlink: { kind: "flag", help: "a netlink message", values: ({ m }) => (m.proto === "netlink" ? [1] : NONE) },
  peer: { kind: "flag", help: "a UDP 3935 peer message", values: ({ m }) => (m.proto === "peer" ? [1] : NONE) },
  frame: { kind: "number", help: "the frame (capture record) number, from 1", values: (s) => [s.frame] },
  msg: { kind: "number", help: "the message's position in its frame, from 1", values: (s) => [s.msg] },
  time: { kind: "number", help: "seconds since the start", values: (s) => [s.time] },
  file: { kind: "name", help: "the input file's name, as in the FILE column", values: (s) => [s.file] },
};

/** One line per field, for --help. */
export function filterFieldsHelp(): string[] {
  return Object.entries(FIELDS).map(([name, f]) => `${name.padEnd(9)} ${f.help}`);
}

// ---- tokens ---------------------------------------------------------------------------------

type TokKind = "word" | "string" | "op" | "(" | ")" | "end";
interface Tok {
  kind: TokKind;
  text: string;
  pos: number;
}

const OPERATORS = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "&"];
const WORD_OPS: Record<string, string> = { and: "&&", or: "||", not: "!", eq: "==", ne: "!=", lt: "<", le: "<=", gt: ">", ge: ">=" };

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "(" || c === ")") {
      out.push({ kind: c, text: c, pos: i++ });
      continue;
    }
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw new FilterError("a quoted value has no closing quote", i);
      out.push({ kind: "string", text: text.slice(i + 1, end), pos: i });
      i = end + 1;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op !== undefined) {
      out.push({ kind: "op", text: op, pos: i });
      i += op.length;
      continue;
    }
    const m = /^[A-Za-z0-9_.:\-[\]%]+/.exec(text.slice(i));
    if (m === null) throw new FilterError(`unexpected "${c}"`, i);
    const word = m[0];
    const asOp = WORD_OPS[word.toLowerCase()];
    out.push(asOp !== undefined ? { kind: "op", text: asOp, pos: i } : { kind: "word", text: word, pos: i });
    i += word.length;
  }
  out.push({ kind: "end", text: "", pos: text.length });
  return out;
}

// ---- parsing --------------------------------------------------------------------------------

type Pred = (s: FilterSubject) => boolean;

const CMP = new Set(["==", "!=", "<", "<=", ">", ">="]);

class Parser {
  private at = 0;
  usesAnomalies = false;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok {
    return this.toks[this.at] as Tok;
  }
  private take(): Tok {
    return this.toks[this.at++] as Tok;
  }

  parse(): Pred {
    const p = this.or();
    const t = this.peek();
    if (t.kind !== "end") throw new FilterError(`expected && or || before "${t.text}"`, t.pos);
    return p;
  }

  private or(): Pred {
    let left = this.and();
    while (this.peek().kind === "op" && this.peek().text === "||") {
      this.take();
      const a = left;
      const b = this.and();
      left = (s) => a(s) || b(s);
    }
    return left;
  }

  private and(): Pred {
    let left = this.unary();
    while (this.peek().kind === "op" && this.peek().text === "&&") {
      this.take();
      const a = left;
      const b = this.unary();
      left = (s) => a(s) && b(s);
    }
    return left;
  }

  private unary(): Pred {
    const t = this.take();
    if (t.kind === "op" && t.text === "!") {
      const p = this.unary();
      return (s) => !p(s);
    }
    if (t.kind === "(") {
      const p = this.or();
      const close = this.take();
      if (close.kind !== ")") throw new FilterError(`expected ")" to close the "(" at position ${t.pos + 1}`, close.pos);
      return p;
    }
    if (t.kind === "end") throw new FilterError("the expression ends where a test was expected", t.pos);
    if (t.kind !== "word") throw new FilterError(`expected a field name, not "${t.text}"`, t.pos);
    return this.test(t);
  }

  private test(nameTok: Tok): Pred {
    const name = nameTok.text.toLowerCase();
    const field = Object.hasOwn(FIELDS, name) ? FIELDS[name] : undefined;
    if (field === undefined)
      throw new FilterError(`unknown field "${nameTok.text}"; fields: ${Object.keys(FIELDS).join(", ")}`, nameTok.pos);
    if (name === "anomaly") this.usesAnomalies = true;
    const next = this.peek();
    if (next.kind !== "op" || !(CMP.has(next.text) || next.text === "&")) return (s) => field.values(s).length > 0;
    this.take();
    if (field.kind === "flag") throw new FilterError(`"${name}" is a yes/no field: use it alone, or !${name}`, next.pos);
    const valTok = this.take();
    if (valTok.kind !== "word" && valTok.kind !== "string") throw new FilterError(`expected a value after "${next.text}"`, valTok.pos);
    const op = next.text;
    if (op === "&") {
      const mask = this.number(valTok, field);
      if (field.kind !== "number") throw new FilterError(`"&" tests bits of a number field; "${name}" is not one`, next.pos);
      return (s) => field.values(s).some((v) => typeof v === "number" && (v & mask) !== 0);
    }
    const eq = this.equality(name, field, valTok, op);
    if (op === "==") return eq;
    if (op === "!=") return (s) => !eq(s);
    const bound = this.number(valTok, field);
    const cmp: (v: number) => boolean =
      op === "<" ? (v) => v < bound : op === "<=" ? (v) => v <= bound : op === ">" ? (v) => v > bound : (v) => v >= bound;
    return (s) => field.values(s).some((v) => typeof v === "number" && cmp(v));
  }

  private number(t: Tok, field: FieldDef): number {
    const n = parseNumber(t.text);
    if (n === null)
      throw new FilterError(`"${t.text}" is not a number${field.kind === "number" ? "" : " (only == and != take a name)"}`, t.pos);
    return n;
  }

  private equality(name: string, field: FieldDef, t: Tok, op: string): Pred {
    if (field.kind === "number") {
      const n = this.number(t, field);
      return (s) => field.values(s).some((v) => v === n);
    }
    if (field.kind === "endpoint") {
      const ep = splitEndpoint(t.text);
      const ip = (ep?.[0] ?? t.text.replace(/^\[(.*)\]$/, "$1")).toLowerCase();
      if (ep === null && !/^[0-9a-fA-F:.%\w]+$/.test(ip)) throw new FilterError(`"${t.text}" is not an address`, t.pos);
      return (s) =>
        field.values(s).some((v) => {
          const have = splitEndpoint(String(v));
          return have !== null && have[0] === ip && (ep === null || have[1] === ep[1]);
        });
    }
    // a name, or a number for fields whose values include numbers
    const n = parseNumber(t.text);
    if (n !== null) return (s) => field.values(s).some((v) => v === n);
    const want = t.text.toLowerCase();
    const words = field.words;
    if (words !== undefined && !words.some((w) => w.toLowerCase() === want))
      throw new FilterError(`"${t.text}" is not a value of ${name} (${op}); one of: ${words.join(", ")}`, t.pos);
    return (s) => field.values(s).some((v) => typeof v === "string" && v.toLowerCase() === want);
  }
}

function parseNumber(text: string): number | null {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (/^0x[0-9a-f]+$/i.test(text)) return Number.parseInt(text.slice(2), 16);
  return null;
}

/** Compiles a filter expression; throws FilterError (code BAD_FILTER, with the position) when it is not one. */
export function compileFilter(text: string): Filter {
  const parser = new Parser(tokenize(text));
  const pred = parser.parse();
  return { test: pred, usesAnomalies: parser.usesAnomalies };
}
