// Reconstructs, from decoded messages, what both sides knew over time: the client's mapinfo
// table, its remote-info table, the requests waiting for an answer, the daemon (port and ABI
// version) and, for peer captures, the daemons' UDP exchanges. Everything is kept as intervals
// ("live from message i until message j"), so the state at any moment is a filter, not a
// re-run; and what looks wrong is listed as anomalies.
//
// What the wire cannot show: a mapping the client recorded although its request failed (the
// kernel then maps local → local), and the consumption of remote-info entries (a local lookup).
// The tables here hold what the messages prove.

import type { CaptureMessage, NetlinkMessage, PeerMessage } from "./decode.js";
import {
  DIR_TO_DAEMON,
  iwpmErrorName,
  OP_ADD_MAPPING,
  OP_HANDLE_ERR,
  OP_HELLO,
  OP_MAPINFO,
  OP_MAPINFO_NUM,
  OP_QUERY_MAPPING,
  OP_REG_PID,
  OP_REMOTE_INFO,
  OP_REMOVE_MAPPING,
} from "./names.js";

/** The client's request timeout (IWPM_NL_TIMEOUT). */
export const REQUEST_TIMEOUT_S = 10;
/** iwpmd's peer query lifetime (IWPM_MAP_REQ_TIMEOUT ticks of 1 s, about 10–11 s). */
export const PEER_TIMEOUT_S = 11;
const ANSWERED_WINDOW = 65536;

export interface MappingEntry {
  client: number;
  local: string;
  mapped: string;
  flags: number;
  /** What proved it: an ADD or QUERY reply, or a MAPINFO record the client replayed. */
  source: "ADD_MAPPING" | "QUERY_MAPPING" | "MAPINFO";
  /** QUERY: the remote side, unmapped and mapped. */
  remote?: string;
  mappedRemote?: string;
  /** Time (s) and message index it appeared at. */
  created: number;
  createdAt: number;
  /** Time and message index of the REMOVE_MAPPING that ended it. */
  removed?: number;
  removedAt?: number;
}

export interface RemoteInfoEntry {
  client: number;
  local: string;
  remote: string;
  mappedLocal: string;
  mappedRemote: string;
  time: number;
  index: number;
}

export type RequestOutcome = "pending" | "ok" | "error" | "rejected";

export interface RequestEntry {
  seq: number;
  client: number;
  op: number;
  label: string;
  /** What it asked for, in a few words. */
  subject: string;
  sent: number;
  sentAt: number;
  answered?: number;
  answeredAt?: number;
  outcome: RequestOutcome;
  /** The IWPM_* code of a HANDLE_ERR or of a QUERY reply's ERR. */
  errCode?: number;
  /** FLAGS of an ADD or QUERY request. */
  flags?: number;
  /** Answered after the client's 10 s timeout. */
  late?: boolean;
}

export interface DaemonEpoch {
  /** The daemon's netlink port (iwpmd's pid); null while unknown. */
  pid: number | null;
  /** The ABI version in use (HELLO answer, REG_PID reply, MAPINFO request); null while unknown. */
  version: number | null;
  /** The version a HELLO offered, before the answer settles it. */
  offered?: number;
  since: number;
  sinceIndex: number;
  reason: string;
}

export interface PeerExchange {
  assochandle: string;
  /** Connecting (active) side, its mapped address, and the accepting side as asked for. */
  cp: string;
  mappedCp: string;
  ap: string;
  /** The accepting side's mapped address, from the ACCEPT. */
  mappedAp?: string;
  requests: number;
  first: number;
  firstAt: number;
  accepted?: number;
  acceptedAt?: number;
  acked?: number;
  ackedAt?: number;
  rejected?: number;
  rejectedAt?: number;
}

export type AnomalyKind =
  | "unanswered"
  | "late-response"
  | "stray-response"
  | "duplicate-response"
  | "handle-err"
  | "query-rejected"
  | "daemon-restart"
  | "invalid-message"
  | "netlink-error"
  | "mapinfo-count"
  | "unknown-remove"
  | "peer-unanswered"
  | "peer-unacked"
  | "peer-reject";

export interface Anomaly {
  kind: AnomalyKind;
  severity: "error" | "warning" | "info";
  /** The message it is about, and its time. */
  index: number;
  time: number;
  /** When it became evident, if later than `time` (a request is unanswered only once 10 s pass). */
  evident?: number;
  text: string;
}

export interface State {
  /** The moment: seconds since the first record, and the last message index at or before it (−1: none). */
  time: number;
  index: number;
  daemon: DaemonEpoch;
  mappings: MappingEntry[];
  remoteInfo: RemoteInfoEntry[];
  /** Requests sent and not answered by then; `overdue` past the client's 10 s timeout. */
  pending: (RequestEntry & { overdue: boolean })[];
  /** Peer exchanges begun and not finished by then. */
  peerOpen: PeerExchange[];
  anomalies: Anomaly[];
  /** The row limit the lists were cut at, when one was asked for. */
  limit?: number;
  /** Totals, also when the lists were cut at `limit`. */
  counts: { mappings: number; remoteInfo: number; pending: number; peerOpen: number; anomalies: number };
}

/** The address without a scope id: equality ignores it (reference §3). */
const addrKey = (a: string) => (a.includes("%") ? a.replace(/%\d+\]/, "]") : a);
const num = (v: unknown) => (typeof v === "number" ? v : 0);
const text = (v: unknown) => (typeof v === "string" ? v : "");

export class StateBuilder {
  private readonly times: number[] = [];
  private readonly mappings: MappingEntry[] = [];
  /** Live mappings by client and local address, newest last. */
  private readonly live = new Map<string, MappingEntry[]>();
  private readonly remoteInfo: RemoteInfoEntry[] = [];
  private readonly requests: RequestEntry[] = [];
  private readonly pendingBySeq = new Map<number, RequestEntry>();
  private readonly answeredBySeq = new Map<number, RequestEntry>();
  private readonly daemons: DaemonEpoch[] = [];
  private readonly anomalies: Anomaly[] = [];
  private readonly peer: PeerExchange[] = [];
  private readonly peerByKey = new Map<string, PeerExchange>();
  private lastTime = 0;
  private seenHello = false;

  add(m: CaptureMessage): void {
    this.times.push(m.time);
    this.lastTime = m.time;
    if (m.proto === "peer") this.peerMessage(m);
    else this.netlink(m);
  }

  /** Ends the capture at `end` seconds (default: the last message) and returns the timeline. */
  finish(end?: number): Timeline {
    const endTime = end ?? this.lastTime;
    for (const r of this.requests) {
      if (r.outcome !== "pending") continue;
      const waited = endTime - r.sent;
      this.anomaly(
        waited >= REQUEST_TIMEOUT_S ? "warning" : "info",
        "unanswered",
        r.sentAt,
        r.sent,
        waited >= REQUEST_TIMEOUT_S
          ? `${r.label} seq ${r.seq} (${r.subject}) was never answered: the client timed out after ${REQUEST_TIMEOUT_S} s`
          : `${r.label} seq ${r.seq} (${r.subject}) still unanswered when the capture ends (${waited.toFixed(3)} s later)`,
        Math.min(r.sent + REQUEST_TIMEOUT_S, endTime),
      );
    }
    for (const x of this.peer) {
      if (x.accepted === undefined && x.rejected === undefined) {
        this.anomaly(
          endTime - x.first >= PEER_TIMEOUT_S ? "warning" : "info",
          "peer-unanswered",
          x.firstAt,
          x.first,
          `peer REQUEST ${x.assochandle} from ${x.cp} to ${x.ap} got no ACCEPT or REJECT (${x.requests} sent)`,
          Math.min(x.first + PEER_TIMEOUT_S, endTime),
        );
      } else if (x.accepted !== undefined && x.acked === undefined && x.acceptedAt !== undefined) {
        this.anomaly(
          "warning",
          "peer-unacked",
          x.acceptedAt,
          x.accepted,
          `peer ACCEPT ${x.assochandle} from ${x.ap} was never acknowledged by ${x.cp}`,
          Math.min(x.accepted + PEER_TIMEOUT_S, endTime),
        );
      }
    }
    this.anomalies.sort((a, b) => a.index - b.index);
    return new Timeline(this.times, this.mappings, this.remoteInfo, this.requests, this.daemons, this.anomalies, this.peer, endTime);
  }

  private anomaly(severity: Anomaly["severity"], kind: AnomalyKind, index: number, time: number, msg: string, evident?: number): void {
    const a: Anomaly = { kind, severity, index, time, text: msg };
    if (evident !== undefined && evident > time) a.evident = evident;
    this.anomalies.push(a);
  }

  private daemon(): DaemonEpoch | undefined {
    return this.daemons[this.daemons.length - 1];
  }

  /** A daemon message from port `pid`: a new epoch when the port changed. */
  private observePid(m: NetlinkMessage, reason: string): DaemonEpoch {
    const cur = this.daemon();
    if (cur !== undefined && cur.pid === m.pid) return cur;
    if (cur !== undefined && cur.pid !== null) {
      this.anomaly("warning", "daemon-restart", m.index, m.time, `${reason} from port ${m.pid} (was ${cur.pid}): another daemon`);
    }
    const epoch: DaemonEpoch = { pid: m.pid, version: null, since: m.time, sinceIndex: m.index, reason };
    this.daemons.push(epoch);
    return epoch;
  }

  /** The ABI version in use became `version`. */
  private setVersion(m: NetlinkMessage, version: number, reason: string): void {
    const cur = this.daemon();
    if (cur === undefined) {
      this.daemons.push({ pid: null, version, since: m.time, sinceIndex: m.index, reason });
    } else if (cur.version === null || cur.sinceIndex === m.index) {
      cur.version = version;
    } else if (cur.version !== version) {
      this.daemons.push({ pid: cur.pid, version, since: m.time, sinceIndex: m.index, reason });
    }
  }

  private netlink(m: NetlinkMessage): void {
    if (m.status !== 0) {
      this.anomaly("error", "invalid-message", m.index, m.time, `${m.label} seq ${m.seq}: ${m.statusName} (a receiver drops it)`);
      return;
    }
    if (m.echo) return; // the capturing client's own request, seen again
    if (m.kind === "error") {
      const h = m.control?.header;
      const v3 = m.dir === DIR_TO_DAEMON && m.seq === 0;
      this.anomaly(
        v3 ? "info" : "warning",
        "netlink-error",
        m.index,
        m.time,
        `NLMSG_ERROR ${m.control?.value ?? "?"} for ${h ? `${h.label} seq ${h.seq}` : "a message"}${v3 ? ": iwpmd falls back to ABI v3" : ""}`,
      );
      if (v3) this.setVersion(m, 3, "HELLO refused: ABI v3");
      return;
    }
    if (m.kind !== "iwpm" || m.op === undefined || m.client === undefined) return;
    if (m.dir === DIR_TO_DAEMON) this.toDaemon(m);
    else this.toClient(m);
  }

  private toDaemon(m: NetlinkMessage): void {
    const a = m.attrs;
    const client = m.client as number;
    switch (m.op) {
      case OP_REG_PID:
        this.request(m, `dev ${text(a.devName)} if ${text(a.ifName)}`);
        break;
      case OP_ADD_MAPPING:
        this.request(m, text(a.local), a.flags);
        break;
      case OP_QUERY_MAPPING:
        this.request(m, `${text(a.local)} → ${text(a.remote)}`, a.flags);
        break;
      case OP_MAPINFO_NUM:
        this.request(m, `${num(a.sendNum)} records`);
        break;
      case OP_REMOVE_MAPPING: {
        const key = `${client}|${addrKey(text(a.local))}`;
        const stack = this.live.get(key);
        const entry = stack?.pop();
        if (stack !== undefined && stack.length === 0) this.live.delete(key);
        if (entry === undefined) {
          this.anomaly("info", "unknown-remove", m.index, m.time, `REMOVE_MAPPING of ${text(a.local)}, which no earlier message mapped`);
        } else {
          entry.removed = m.time;
          entry.removedAt = m.index;
        }
        break;
      }
      case OP_MAPINFO: {
        // A record the client replays to a (re)started daemon: proof of its table.
        const local = text(a.local);
        const mapped = text(a.mapped);
        const stack = this.live.get(`${client}|${addrKey(local)}`);
        if (!stack?.some((e) => addrKey(e.mapped) === addrKey(mapped))) {
          this.addMapping(m, client, local, mapped, num(a.flags), "MAPINFO");
        }
        break;
      }
      case OP_HELLO:
        this.setVersion(m, num(a.abiVersion), `HELLO answered with ABI ${num(a.abiVersion)}`);
        break;
    }
  }

  private request(m: NetlinkMessage, subject: string, flags?: unknown): void {
    const r: RequestEntry = {
      seq: m.seq,
      client: m.client as number,
      op: m.op as number,
      label: m.label,
      subject,
      sent: m.time,
      sentAt: m.index,
      outcome: "pending",
    };
    if (typeof flags === "number") r.flags = flags;
    const earlier = this.pendingBySeq.get(m.seq);
    if (earlier !== undefined) {
      this.anomaly(
        "warning",
        "duplicate-response",
        m.index,
        m.time,
        `${m.label} reuses seq ${m.seq} of a request still pending (${earlier.label})`,
      );
    }
    this.requests.push(r);
    this.pendingBySeq.set(m.seq, r);
  }

  /** Settles the request `seq` names; null (and an anomaly) when there is none to settle. */
  private answer(m: NetlinkMessage, seq: number, outcome: RequestOutcome, errCode?: number): RequestEntry | null {
    const r = this.pendingBySeq.get(seq);
    if (r === undefined) {
      const done = this.answeredBySeq.get(seq);
      if (done !== undefined) {
        this.anomaly(
          "warning",
          "duplicate-response",
          m.index,
          m.time,
          `${m.label} for seq ${seq}, which was already answered at ${done.answered?.toFixed(6)} s`,
        );
      } else {
        this.anomaly("warning", "stray-response", m.index, m.time, `${m.label} for seq ${seq}: no such request in the capture`);
      }
      return null;
    }
    this.pendingBySeq.delete(seq);
    this.answeredBySeq.set(seq, r);
    // Duplicates come soon after the first answer: remembering the last 65536 answers is enough.
    if (this.answeredBySeq.size > ANSWERED_WINDOW) {
      const oldest = this.answeredBySeq.keys().next();
      if (!oldest.done) this.answeredBySeq.delete(oldest.value);
    }
    r.answered = m.time;
    r.answeredAt = m.index;
    r.outcome = outcome;
    if (errCode !== undefined) r.errCode = errCode;
    if (m.time - r.sent > REQUEST_TIMEOUT_S) {
      r.late = true;
      this.anomaly(
        "warning",
        "late-response",
        m.index,
        m.time,
        `${m.label} for seq ${seq} came ${(m.time - r.sent).toFixed(3)} s after the request: the client had timed out at ${REQUEST_TIMEOUT_S} s`,
      );
    }
    return r;
  }

  private toClient(m: NetlinkMessage): void {
    const a = m.attrs;
    const client = m.client as number;
    switch (m.op) {
      case OP_HELLO: {
        const cur = this.daemon();
        if (this.seenHello || (cur !== undefined && cur.pid !== null)) {
          this.anomaly(
            "warning",
            "daemon-restart",
            m.index,
            m.time,
            cur?.pid === m.pid
              ? `HELLO again from port ${m.pid}: the daemon restarted`
              : `HELLO from port ${m.pid} (was ${cur?.pid ?? "unknown"}): a new daemon`,
          );
        }
        this.seenHello = true;
        this.daemons.push({
          pid: m.pid,
          version: null,
          offered: num(a.abiVersion),
          since: m.time,
          sinceIndex: m.index,
          reason: `HELLO offering ABI ${num(a.abiVersion)}`,
        });
        break;
      }
      case OP_MAPINFO: {
        this.observePid(m, "MAPINFO request");
        const v = num(a.ulibVersion);
        if (v >= 3) this.setVersion(m, v, "MAPINFO request");
        break;
      }
      case OP_REG_PID: {
        this.observePid(m, "REG_PID reply");
        const v = num(a.ulibVersion);
        if (v >= 3) this.setVersion(m, v, `REG_PID reply with ABI ${v}`);
        this.answer(m, num(a.requestSeq), "ok");
        break;
      }
      case OP_ADD_MAPPING: {
        this.observePid(m, "ADD_MAPPING reply");
        const r = this.answer(m, num(a.requestSeq), "ok");
        if (r !== null) {
          this.addMapping(m, client, text(a.local), text(a.mappedLocal), r.flags ?? 0, "ADD_MAPPING");
        }
        break;
      }
      case OP_QUERY_MAPPING: {
        this.observePid(m, "QUERY_MAPPING reply");
        const err = num(a.err);
        const r = this.answer(m, num(a.requestSeq), err === 0 ? "ok" : "rejected", err === 0 ? undefined : err);
        if (err !== 0) {
          this.anomaly(
            "warning",
            "query-rejected",
            m.index,
            m.time,
            `QUERY_MAPPING seq ${num(a.requestSeq)}: ${iwpmErrorName(err)} (${err}) for ${text(a.local)} → ${text(a.remote)}`,
          );
        } else if (r !== null) {
          this.addMapping(
            m,
            client,
            text(a.local),
            text(a.mappedLocal),
            r.flags ?? 0,
            "QUERY_MAPPING",
            text(a.remote),
            text(a.mappedRemote),
          );
        }
        break;
      }
      case OP_REMOTE_INFO:
        this.remoteInfo.push({
          client,
          local: text(a.local),
          remote: text(a.remote),
          mappedLocal: text(a.mappedLocal),
          mappedRemote: text(a.mappedRemote),
          time: m.time,
          index: m.index,
        });
        break;
      case OP_HANDLE_ERR: {
        const seq = num(a.errSeq);
        const code = num(a.errCode);
        this.anomaly(
          "error",
          "handle-err",
          m.index,
          m.time,
          `HANDLE_ERR ${iwpmErrorName(code)} (${code}) ${seq === 0 ? "for a MAPINFO record" : `for seq ${seq}`}`,
        );
        if (seq !== 0) this.answer(m, seq, "error", code);
        break;
      }
      case OP_MAPINFO_NUM: {
        const r = this.answer(m, num(a.requestSeq), "ok");
        if (r !== null && num(a.ackNum) !== num(a.sendNum)) {
          this.anomaly(
            "info",
            "mapinfo-count",
            m.index,
            m.time,
            `MAPINFO_NUM ack: ${num(a.sendNum)} records sent, ${num(a.ackNum)} accepted since the daemon started`,
          );
        }
        break;
      }
    }
  }

  private addMapping(
    m: NetlinkMessage,
    client: number,
    local: string,
    mapped: string,
    flags: number,
    source: MappingEntry["source"],
    remote?: string,
    mappedRemote?: string,
  ): void {
    // One object shape for every entry: a million of them stay cheap.
    const entry: MappingEntry = { client, local, mapped, flags, source, created: m.time, createdAt: m.index };
    if (remote !== undefined) {
      entry.remote = remote;
      entry.mappedRemote = mappedRemote ?? "";
    }
    this.mappings.push(entry);
    const key = `${client}|${addrKey(local)}`;
    const stack = this.live.get(key);
    if (stack === undefined) this.live.set(key, [entry]);
    else stack.push(entry);
  }

  private peerMessage(m: PeerMessage): void {
    const w = m.wire;
    const cp = endpointOf(w.cpIp, w.cpport);
    const key = `${w.assochandle}|${w.cpIp}`;
    let x = this.peerByKey.get(key);
    if (w.type === 0) {
      if (x === undefined) {
        x = {
          assochandle: w.assochandle,
          cp,
          mappedCp: endpointOf(w.mappedCpIp ?? w.cpIp, w.mappedCpPort),
          ap: endpointOf(w.apIp, w.apport),
          requests: 0,
          first: m.time,
          firstAt: m.index,
        };
        this.peer.push(x);
        this.peerByKey.set(key, x);
      }
      x.requests++;
      return;
    }
    if (x === undefined) {
      this.anomaly(
        "warning",
        "stray-response",
        m.index,
        m.time,
        `peer ${w.typeName} ${w.assochandle} for ${cp}: no REQUEST in the capture`,
      );
      return;
    }
    if (w.type === 1) {
      if (x.accepted === undefined) {
        x.accepted = m.time;
        x.acceptedAt = m.index;
        x.mappedAp = endpointOf(w.apIp, w.apport);
      }
    } else if (w.type === 2) {
      if (x.acked === undefined) {
        x.acked = m.time;
        x.ackedAt = m.index;
      }
    } else if (x.rejected === undefined) {
      x.rejected = m.time;
      x.rejectedAt = m.index;
      this.anomaly(
        "warning",
        "peer-reject",
        m.index,
        m.time,
        `peer REJECT ${w.assochandle}: ${x.ap} has no listener mapped (asked by ${x.cp})`,
      );
    }
  }
}

function endpointOf(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export interface StateOptions {
  /** Most rows per list (the counts stay exact). Default: all. */
  limit?: number;
}

/** The reconstruction over the whole capture; stateAt answers for any moment. */
export class Timeline {
  constructor(
    /** Time (s) of every message, by index. */
    readonly times: readonly number[],
    readonly mappings: readonly MappingEntry[],
    readonly remoteInfo: readonly RemoteInfoEntry[],
    readonly requests: readonly RequestEntry[],
    readonly daemons: readonly DaemonEpoch[],
    readonly anomalies: readonly Anomaly[],
    readonly peer: readonly PeerExchange[],
    /** Seconds from the first record to the end of the capture. */
    readonly end: number,
  ) {}

  get messageCount(): number {
    return this.times.length;
  }

  /** The last message index at or before `time` (−1 when none). */
  indexAt(time: number): number {
    let lo = 0;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.times[mid] as number) <= time) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** The state once every message up to `time` seconds (from the first record) has passed. */
  stateAt(time: number, opts: StateOptions = {}): State {
    return this.stateAfter(this.indexAt(time), time, opts);
  }

  /** The state once message `index` (and all before it) has passed. */
  stateAtIndex(index: number, opts: StateOptions = {}): State {
    const i = Math.min(index, this.times.length - 1);
    return this.stateAfter(i, i >= 0 ? (this.times[i] as number) : 0, opts);
  }

  /** The state at the end of the capture. */
  final(opts: StateOptions = {}): State {
    return this.stateAfter(this.times.length - 1, this.end, opts);
  }

  private stateAfter(i: number, time: number, opts: StateOptions): State {
    const limit = opts.limit ?? Number.POSITIVE_INFINITY;
    const take = <T>(all: readonly T[], keep: (x: T) => boolean, map?: (x: T) => T): { rows: T[]; count: number } => {
      const rows: T[] = [];
      let count = 0;
      for (const x of all) {
        if (!keep(x)) continue;
        count++;
        if (rows.length < limit) rows.push(map ? map(x) : x);
      }
      return { rows, count };
    };
    const mappings = take(this.mappings, (e) => e.createdAt <= i && (e.removedAt === undefined || e.removedAt > i));
    const remoteInfo = take(this.remoteInfo, (e) => e.index <= i);
    const pending = take(
      this.requests as (RequestEntry & { overdue: boolean })[],
      (r) => r.sentAt <= i && (r.answeredAt === undefined || r.answeredAt > i),
      (r) => ({ ...r, overdue: time - r.sent > REQUEST_TIMEOUT_S }),
    );
    const peerOpen = take(this.peer, (x) => {
      if (x.firstAt > i) return false;
      const done = [x.rejectedAt, x.ackedAt].filter((v): v is number => v !== undefined);
      return !done.some((d) => d <= i);
    });
    const anomalies = take(this.anomalies, (a) => a.index <= i && (a.evident ?? a.time) <= time);
    let daemon: DaemonEpoch = { pid: null, version: null, since: 0, sinceIndex: -1, reason: "no daemon message yet" };
    for (const d of this.daemons) {
      if (d.sinceIndex > i) break;
      daemon = d;
    }
    return {
      time,
      index: i,
      ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
      daemon,
      mappings: mappings.rows,
      remoteInfo: remoteInfo.rows,
      pending: pending.rows,
      peerOpen: peerOpen.rows,
      anomalies: anomalies.rows,
      counts: {
        mappings: mappings.count,
        remoteInfo: remoteInfo.count,
        pending: pending.count,
        peerOpen: peerOpen.count,
        anomalies: anomalies.count,
      },
    };
  }

  /** Anomalies by message index (the first per message), to mark rows. */
  anomalyIndex(): Map<number, Anomaly> {
    const out = new Map<number, Anomaly>();
    for (const a of this.anomalies) if (!out.has(a.index)) out.set(a.index, a);
    return out;
  }
}

/** Builds the timeline of a list of decoded messages. */
export function buildTimeline(messages: Iterable<CaptureMessage>, end?: number): Timeline {
  const b = new StateBuilder();
  for (const m of messages) b.add(m);
  return b.finish(end);
}
