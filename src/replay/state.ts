// Reconstructs, from a capture, what both sides knew over time: the client's mapinfo table, its
// remote-info table, the requests waiting for an answer, the daemon (port and ABI version) and,
// for peer captures, the daemons' UDP exchanges. The netlink messages drive a client instance of
// the core (./engine.ts) on the capture's clock: what the client sent is recorded as sent, what
// it received is handled by the client itself, and its events and per-reason drops say which
// reply settled which request and what was wrong with the others. Peer datagrams drive a daemon
// instance (./peer-engine.ts), which pairs each with its exchange or drops it. The messages a
// daemon-side capture shows the daemon receiving also drive a daemon instance
// (./daemon-engine.ts): its events and drops decide which mappings exist and which requests the
// daemon refuses or drops, and the capture's replies say when (a mapping appears at the reply that
// shows its mapped address). This module keeps what the engines do not: which message each change
// came at, as intervals ("live from message i until message j"), so the state at any moment is a
// filter, not a re-run.
//
// What the wire cannot show: a mapping the client recorded although its request failed (the
// kernel then maps local → local), and the consumption of remote-info entries (a local lookup).
// The tables here hold what the messages prove.

import { IwpmError } from "../core/errors.js";
import type { CoreEvent } from "../core/events.js";
import { Status, statusInfo } from "../core/status.js";
import type { DropReason } from "../service/stats.js";
import { DaemonReplayEngine } from "./daemon-engine.js";
import type { CaptureMessage, NetlinkMessage, PeerMessage } from "./decode.js";
import { REPLAY_TIMEOUT_MS, ReplayEngine } from "./engine.js";
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
  OP_REMOVE_MAPPING,
  PEER_TYPES,
} from "./names.js";
import { endpoint } from "./peer.js";
import { endpointText, PeerEngine } from "./peer-engine.js";

/** The client's request timeout (IWPM_NL_TIMEOUT). */
export const REQUEST_TIMEOUT_S = REPLAY_TIMEOUT_MS / 1000;
/** iwpmd's peer query lifetime (IWPM_MAP_REQ_TIMEOUT ticks of 1 s, about 10–11 s). */
export const PEER_TIMEOUT_S = 11;
const ANSWERED_WINDOW = 65536;
const PEER_ACCEPT = PEER_TYPES.indexOf("ACCEPT");
const PEER_ACK = PEER_TYPES.indexOf("ACK");
const PEER_REJECT = PEER_TYPES.indexOf("REJECT");

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
  /** The status the engine gave it: why the client dropped the message (STRAY_SEQ, LATE_RESPONSE, …) or refused it. */
  reason?: string;
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

const num = (v: unknown) => (typeof v === "number" ? v : 0);
const text = (v: unknown) => (typeof v === "string" ? v : "");

/** The anomaly a drop of the client stands for; any other drop makes the message an invalid one. */
const DROP_KINDS: Readonly<Record<number, AnomalyKind>> = {
  [Status.STRAY_SEQ]: "stray-response",
  [Status.DUPLICATE_RESPONSE]: "duplicate-response",
  [Status.LATE_RESPONSE]: "late-response",
  [Status.NETLINK_ERROR]: "netlink-error",
};

/**
 * Drops of the daemon instance that are about its peer queries, not the netlink message: a
 * replayed QUERY's peer request goes nowhere and times out on the capture's clock, while the
 * capture's reply says how it really ended.
 */
const PEER_DROPS: ReadonlySet<DropReason> = new Set<DropReason>(["peerMalformed", "peerUnmatched", "exchangeLimit", "peerTimeout"]);

/** Whether the capturing socket was the daemon's: it saw requests come in and replies go out. */
function daemonSide(m: NetlinkMessage): boolean {
  return m.captured !== "unknown" && (m.captured === "in") === (m.dir === DIR_TO_DAEMON);
}

/** How the daemon's table keys a mapping: its owner's client index and local address. */
function liveKey(client: number | undefined, local: string): string {
  return `${client ?? -1} ${local}`;
}

/** What the daemon instance did with a message it received. */
interface DaemonVerdict {
  /** It refused or dropped the message (the anomaly is recorded). */
  judged: boolean;
  /** It took a MAPINFO record into its table. */
  mapped: boolean;
  /** A REMOVE_MAPPING: the references left (0: gone), or undefined when it removed nothing. */
  refsLeft?: number;
}

/** The sequence number a message to the client names: the request it answers, or its own. */
function namedSeq(m: NetlinkMessage): number {
  const a = m.attrs;
  if (m.kind === "error") return m.control?.header?.seq ?? m.seq;
  return num(a.requestSeq ?? a.errSeq ?? a.mapinfoSeq ?? m.seq);
}

export class StateBuilder {
  private readonly engine: ReplayEngine;
  private readonly times: number[] = [];
  private readonly mappings: MappingEntry[] = [];
  /** Live mappings by the engine's mapinfo record. */
  private readonly live = new Map<number, MappingEntry>();
  private readonly remoteInfo: RemoteInfoEntry[] = [];
  private readonly requests: RequestEntry[] = [];
  /** The entry each seq names, for the time the engine may still settle it. */
  private readonly pendingBySeq = new Map<number, RequestEntry>();
  /** The latest answers by seq, in two generations of up to ANSWERED_WINDOW each (see settle). */
  private answeredBySeq = new Map<number, RequestEntry>();
  private answeredBefore = new Map<number, RequestEntry>();
  /** Requests the engine timed out. */
  private readonly timedOut = new WeakSet<RequestEntry>();
  private readonly daemons: DaemonEpoch[] = [];
  private readonly anomalies: Anomaly[] = [];
  private readonly peer: PeerExchange[] = [];
  /** Exchanges by the daemon core's id. */
  private readonly peerById = new Map<number, PeerExchange>();
  private peerEngine: PeerEngine | undefined;
  private daemonEngine: DaemonReplayEngine | undefined;
  /** Daemon-side: seqs of ADD/QUERY requests the daemon instance mapped, until the capture's reply. */
  private readonly daemonMapped = new Set<number>();
  /** Daemon-side: seqs of requests the daemon instance answered with HANDLE_ERR (anomaly recorded), until the capture's reply. */
  private readonly daemonRefused = new Set<number>();
  /** Daemon-side: live mappings by owner and local address, as the daemon's table keys them. */
  private readonly daemonLive = new Map<string, MappingEntry>();
  private lastTime = 0;

  /**
   * Replays netlink messages on a client instance of `module` (by default the core
   * loadDecoderCore loaded) and peer datagrams on a daemon instance of `daemonModule` (by default
   * the one loadDaemonCore loaded; needed once a peer message or a daemon-side capture's netlink
   * message comes).
   */
  constructor(
    module?: WebAssembly.Module,
    private readonly daemonModule?: WebAssembly.Module,
  ) {
    this.engine = new ReplayEngine(module);
  }

  /**
   * Takes the next message with its bytes (the decoder's onMessage hands them over; else the
   * message's own `bytes`, kept with DecoderOptions.keepBytes).
   */
  add(m: CaptureMessage, bytes: Uint8Array | undefined = m.bytes): void {
    this.times.push(m.time);
    this.lastTime = m.time;
    if (m.proto === "peer") {
      this.peerMessage(m, bytes);
      return;
    }
    this.expire(m.time);
    if (m.status !== 0) {
      // What the daemon made of a message it received is its own verdict.
      if (!m.echo && bytes !== undefined && m.dir === DIR_TO_DAEMON && daemonSide(m) && this.daemonReceived(m, bytes).judged) return;
      this.anomaly(
        "error",
        "invalid-message",
        m.index,
        m.time,
        `${m.label} seq ${m.seq}: ${m.statusName} (a receiver drops it)`,
        undefined,
        m.statusName,
      );
      return;
    }
    if (m.echo) return; // the capturing client's own request, seen again
    if (bytes === undefined) {
      throw new IwpmError(
        "INVALID_ARGUMENT",
        `message #${m.index} came without its bytes: pass those the decoder's onMessage hands over, or decode with keepBytes`,
      );
    }
    const port = this.engine.daemonPort();
    if (m.dir === DIR_TO_DAEMON) this.sent(m, bytes, daemonSide(m) ? this.daemonReceived(m, bytes) : undefined);
    else this.received(m, bytes, port);
  }

  /** Ends the capture at `end` seconds (default: the last message) and returns the timeline. */
  finish(end?: number): Timeline {
    const endTime = end ?? this.lastTime;
    this.expire(endTime);
    for (const r of this.requests) {
      if (r.outcome !== "pending") continue;
      const timedOut = this.timedOut.has(r);
      this.anomaly(
        timedOut ? "warning" : "info",
        "unanswered",
        r.sentAt,
        r.sent,
        timedOut
          ? `${r.label} seq ${r.seq} (${r.subject}) was never answered: the client timed out after ${REQUEST_TIMEOUT_S} s`
          : `${r.label} seq ${r.seq} (${r.subject}) still unanswered when the capture ends (${(endTime - r.sent).toFixed(3)} s later)`,
        Math.min(r.sent + REQUEST_TIMEOUT_S, endTime),
      );
    }
    this.peerEnd(endTime);
    this.anomalies.sort((a, b) => a.index - b.index);
    return new Timeline(this.times, this.mappings, this.remoteInfo, this.requests, this.daemons, this.anomalies, this.peer, endTime);
  }

  private anomaly(
    severity: Anomaly["severity"],
    kind: AnomalyKind,
    index: number,
    time: number,
    msg: string,
    evident?: number,
    reason?: string,
  ): void {
    const a: Anomaly = { kind, severity, index, time, text: msg };
    if (evident !== undefined && evident > time) a.evident = evident;
    if (reason !== undefined) a.reason = reason;
    this.anomalies.push(a);
  }

  /** The engine's clock reaches `time`: the requests it times out stay pending, now overdue for good. */
  private expire(time: number): void {
    for (const e of this.engine.advance(time)) {
      if (e.kind !== "requestDone") continue;
      const r = this.pendingBySeq.get(e.seq);
      if (r !== undefined) this.timedOut.add(r);
    }
  }

  /** A message a daemon-side capture shows the daemon receiving: the daemon instance handles it. */
  private daemonReceived(m: NetlinkMessage, bytes: Uint8Array): DaemonVerdict {
    this.daemonEngine ??= new DaemonReplayEngine(this.daemonModule);
    const { events, drops } = this.daemonEngine.received(m.time, bytes, m.port ?? m.pid);
    const verdict: DaemonVerdict = { judged: false, mapped: false };
    // A refusal may count a drop too (NOT_REGISTERED, UNKNOWN_OP, …): one anomaly, named by the drop.
    const dropped = drops.filter((d) => !PEER_DROPS.has(d));
    for (const e of events) {
      if (e.kind === "mappingAdded") {
        if (e.op === OP_MAPINFO) verdict.mapped = true;
        else if (e.refcount === 1) this.daemonMapped.add(e.seq); // later references share the mapping
      } else if (e.kind === "mappingRemoved") {
        verdict.refsLeft = e.refcount;
      } else if (e.kind === "requestFailed") {
        verdict.judged = true;
        const s = statusInfo(e.status);
        if (e.op === OP_REMOVE_MAPPING) {
          this.anomaly(
            "info",
            "unknown-remove",
            m.index,
            m.time,
            `REMOVE_MAPPING of ${text(m.attrs.local)}: the daemon has no such mapping`,
            undefined,
            dropped[0] ?? s.name,
          );
          continue;
        }
        if (e.errorSent) {
          this.daemonRefused.add(e.seq);
          const name = iwpmErrorName(e.status);
          this.anomaly(
            "error",
            "handle-err",
            m.index,
            m.time,
            `${m.label} seq ${e.seq}: the daemon refuses it with HANDLE_ERR ${name} (${e.status})`,
            undefined,
            dropped[0] ?? name,
          );
        } else {
          this.anomaly(
            "error",
            "invalid-message",
            m.index,
            m.time,
            `${m.label} seq ${e.seq}: the daemon refuses it: ${s.name} (${s.hint})`,
            undefined,
            dropped[0] ?? s.name,
          );
        }
      }
    }
    if (!verdict.judged) {
      for (const reason of dropped) {
        verdict.judged = true;
        this.anomaly(
          "error",
          "invalid-message",
          m.index,
          m.time,
          `${m.label} seq ${m.seq}: the daemon drops it (${reason})`,
          undefined,
          reason,
        );
      }
    }
    return verdict;
  }

  /**
   * A message the captured client sent (or, `daemon`: a daemon-side capture shows the daemon
   * receiving, with the daemon instance's verdict): the client engine records it as sent.
   */
  private sent(m: NetlinkMessage, bytes: Uint8Array, daemon?: DaemonVerdict): void {
    const before = this.engine.version();
    const r = this.engine.sent(bytes);
    if (m.kind === "error") {
      const fallback = this.engine.version() !== before;
      const h = m.control?.header;
      this.anomaly(
        fallback ? "info" : "warning",
        "netlink-error",
        m.index,
        m.time,
        `NLMSG_ERROR ${m.control?.value ?? "?"} for ${h ? `${h.label} seq ${h.seq}` : "a message"}${fallback ? ": iwpmd falls back to ABI v3" : ""}`,
      );
      this.followDaemon(m, this.engine.daemonPort(), "HELLO refused: ABI v3");
      return;
    }
    if (m.kind !== "iwpm" || m.op === undefined || m.client === undefined) return;
    if (r < 0 && r !== -Status.NOT_FOUND && r !== -Status.SEQ_IN_USE) {
      // The daemon's verdict on what it received replaces the client's.
      if (daemon !== undefined) return;
      const s = statusInfo(-r);
      this.anomaly("error", "invalid-message", m.index, m.time, `${m.label} seq ${m.seq}: ${s.name} (${s.hint})`, undefined, s.name);
      return;
    }
    const a = m.attrs;
    switch (m.op) {
      case OP_REG_PID:
        this.request(m, r, `dev ${text(a.devName)} if ${text(a.ifName)}`);
        break;
      case OP_ADD_MAPPING:
        this.request(m, r, text(a.local), a.flags);
        break;
      case OP_QUERY_MAPPING:
        this.request(m, r, `${text(a.local)} → ${text(a.remote)}`, a.flags);
        break;
      case OP_MAPINFO_NUM:
        this.request(m, r, `${num(a.sendNum)} records`);
        break;
      case OP_REMOVE_MAPPING: {
        if (daemon !== undefined) {
          // The daemon's table decides: a mapping still referenced stays.
          const key = liveKey(m.client, text(a.local));
          const entry = this.daemonLive.get(key);
          if (entry !== undefined && daemon.refsLeft === 0) {
            this.daemonLive.delete(key);
            this.removeMapping(entry, m, 0);
          }
          break;
        }
        const entry = r > 0 ? this.live.get(r) : undefined;
        if (entry === undefined) {
          this.anomaly(
            "info",
            "unknown-remove",
            m.index,
            m.time,
            `REMOVE_MAPPING of ${text(a.local)}, which no earlier message mapped`,
            undefined,
            statusInfo(Status.NOT_FOUND).name,
          );
        } else {
          this.removeMapping(entry, m, r);
        }
        break;
      }
      case OP_MAPINFO:
        // A record the client replays to a (re)started daemon: proof of its table (on the
        // daemon's side, once the daemon took it).
        if (daemon !== undefined) {
          const key = liveKey(m.client, text(a.local));
          if (daemon.mapped && !this.daemonLive.has(key)) {
            this.daemonLive.set(key, this.addMapping(m, 0, text(a.local), text(a.mapped), num(a.flags), "MAPINFO"));
          }
          break;
        }
        if (r > 0 && !this.live.has(r)) this.addMapping(m, r, text(a.local), text(a.mapped), num(a.flags), "MAPINFO");
        break;
      case OP_HELLO:
        this.followDaemon(m, this.engine.daemonPort(), `HELLO answered with ABI ${num(a.abiVersion)}`);
        break;
    }
  }

  private removeMapping(entry: MappingEntry, m: NetlinkMessage, record: number): void {
    entry.removed = m.time;
    entry.removedAt = m.index;
    if (record > 0) this.live.delete(record);
  }

  private request(m: NetlinkMessage, verdict: number, subject: string, flags?: unknown): void {
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
    if (verdict === -Status.SEQ_IN_USE) {
      const earlier = this.pendingBySeq.get(m.seq);
      this.anomaly(
        "warning",
        "duplicate-response",
        m.index,
        m.time,
        `${m.label} reuses seq ${m.seq} of a request still pending${earlier ? ` (${earlier.label})` : ""}`,
        undefined,
        statusInfo(Status.SEQ_IN_USE).name,
      );
    }
    this.requests.push(r);
    this.pendingBySeq.set(m.seq, r);
  }

  /** Marks `r` answered by `m`. */
  private settle(r: RequestEntry, m: NetlinkMessage, outcome: RequestOutcome, errCode?: number): void {
    this.pendingBySeq.delete(r.seq);
    // Duplicates come soon after the first answer: remembering the last 65536 answers or more is
    // enough. A full generation is dropped whole: evicting one oldest key at a time from a Map
    // walks every deleted entry before it, which made a million-message replay quadratic.
    if (this.answeredBySeq.size >= ANSWERED_WINDOW) {
      this.answeredBefore = this.answeredBySeq;
      this.answeredBySeq = new Map();
    }
    this.answeredBySeq.set(r.seq, r);
    r.answered = m.time;
    r.answeredAt = m.index;
    r.outcome = outcome;
    if (errCode !== undefined) r.errCode = errCode;
  }

  /** A message the captured client received: the engine handles it; its events and drops say what it meant. */
  private received(m: NetlinkMessage, bytes: Uint8Array, before: number | null): void {
    // A client's capture records each datagram's source; iwpmd's shows its own port as nlmsg_pid.
    const from = m.captured === "in" && m.port !== undefined ? m.port : m.pid;
    const { events, drops, record } = this.engine.received(bytes, from);
    let hello: number | undefined;
    let settled = false;
    for (const e of events) {
      if ((e.kind === "requestDone" && e.op === OP_REG_PID && e.status === 0) || e.kind === "mapinfoRequest") settled = true;
      if (e.kind === "requestDone") this.requestDone(m, e, record);
      else if (e.kind === "remoteInfo") this.addRemoteInfo(m);
      else if (e.kind === "mappingError" || e.kind === "mapinfoRefused") {
        // Daemon-side, the daemon instance's refusal has its anomaly already.
        if (daemonSide(m) && this.daemonRefused.delete(namedSeq(m))) continue;
        this.anomaly("error", "handle-err", m.index, m.time, `HANDLE_ERR ${iwpmErrorName(e.code)} (${e.code}) for a MAPINFO record`);
      } else if (e.kind === "daemonHello") hello = e.offered;
      else if (e.kind === "mapinfoAck") this.mapinfoAck(m, e.seq, e.sent, e.acked);
    }
    for (const code of drops) this.dropped(m, code);
    if (hello !== undefined) {
      if (before !== null) {
        this.daemonRestarted(m);
        const port = this.engine.daemonPort();
        this.anomaly(
          "warning",
          "daemon-restart",
          m.index,
          m.time,
          port === before ? `HELLO again from port ${port}: the daemon restarted` : `HELLO from port ${port} (was ${before}): a new daemon`,
        );
      }
      this.newEpoch(m, `HELLO offering ABI ${hello}`, hello);
      return;
    }
    const port = this.engine.daemonPort();
    if (port !== null && before !== null && port !== before) {
      this.anomaly("warning", "daemon-restart", m.index, m.time, `${m.label} from port ${port} (was ${before}): another daemon`);
    }
    this.followDaemon(m, before, m.label, settled);
  }

  /**
   * Daemon-side, a daemon announcing itself (its HELLO, the first thing it sends) starts with empty
   * tables: its predecessor's mappings end here, and what it receives next goes to a fresh instance.
   */
  private daemonRestarted(m: NetlinkMessage): void {
    if (!daemonSide(m)) return;
    for (const entry of this.daemonLive.values()) this.removeMapping(entry, m, 0);
    this.daemonLive.clear();
    this.daemonEngine = undefined;
    this.daemonMapped.clear();
    this.daemonRefused.clear();
  }

  private requestDone(m: NetlinkMessage, e: Extract<CoreEvent, { kind: "requestDone" }>, record: number): void {
    const r = this.pendingBySeq.get(e.seq);
    const a = m.attrs;
    if (m.kind === "error") {
      const h = m.control?.header;
      this.anomaly(
        "warning",
        "netlink-error",
        m.index,
        m.time,
        `NLMSG_ERROR ${m.control?.value ?? "?"} for ${h ? `${h.label} seq ${h.seq}` : "a message"}`,
      );
      if (r) this.settle(r, m, "error", e.status);
      return;
    }
    // Daemon-side: a request the daemon instance refused has its anomaly already.
    const refused = daemonSide(m) && this.daemonRefused.delete(e.seq);
    const mapped = daemonSide(m) && this.daemonMapped.delete(e.seq);
    if (m.op === OP_HANDLE_ERR) {
      if (refused) {
        if (r) this.settle(r, m, "error", e.status);
        return;
      }
      this.anomaly("error", "handle-err", m.index, m.time, `HANDLE_ERR ${iwpmErrorName(e.status)} (${e.status}) for seq ${e.seq}`);
      if (r) this.settle(r, m, "error", e.status);
      return;
    }
    if (e.status === Status.IWPM_REMOTE_QUERY_REJECT) {
      this.anomaly(
        "warning",
        "query-rejected",
        m.index,
        m.time,
        `QUERY_MAPPING seq ${e.seq}: ${iwpmErrorName(e.status)} (${e.status}) for ${text(a.local)} → ${text(a.remote)}`,
      );
      if (r) this.settle(r, m, "rejected", e.status);
      return;
    }
    if (e.status !== 0) {
      const s = statusInfo(e.status);
      this.anomaly(
        "error",
        "invalid-message",
        m.index,
        m.time,
        `${m.label} for seq ${e.seq}: the client failed the request: ${s.name} (${s.hint})`,
        undefined,
        s.name,
      );
      if (r) this.settle(r, m, "error", e.status);
      return;
    }
    if (r) this.settle(r, m, "ok");
    // Daemon-side, the daemon instance's table decides whether the mapping exists.
    const daemon = daemonSide(m);
    if (daemon ? mapped : record > 0) {
      const query = m.op === OP_QUERY_MAPPING;
      const entry = this.addMapping(
        m,
        daemon ? 0 : record,
        text(a.local),
        text(a.mappedLocal),
        r?.flags ?? 0,
        query ? "QUERY_MAPPING" : "ADD_MAPPING",
        query ? text(a.remote) : undefined,
        query ? text(a.mappedRemote) : undefined,
      );
      if (daemon) this.daemonLive.set(liveKey(m.client, entry.local), entry);
    }
  }

  private mapinfoAck(m: NetlinkMessage, seq: number, sent: number, acked: number): void {
    const r = this.pendingBySeq.get(seq);
    if (r) this.settle(r, m, "ok");
    if (acked !== sent) {
      this.anomaly(
        "info",
        "mapinfo-count",
        m.index,
        m.time,
        `MAPINFO_NUM ack: ${sent} records sent, ${acked} accepted since the daemon started`,
      );
    }
  }

  private addRemoteInfo(m: NetlinkMessage): void {
    const a = m.attrs;
    this.remoteInfo.push({
      client: m.client as number,
      local: text(a.local),
      remote: text(a.remote),
      mappedLocal: text(a.mappedLocal),
      mappedRemote: text(a.mappedRemote),
      time: m.time,
      index: m.index,
    });
  }

  /** The client dropped `m` for `code`. */
  private dropped(m: NetlinkMessage, code: number): void {
    const reason = statusInfo(code).name;
    const kind = DROP_KINDS[code] ?? "invalid-message";
    const seq = namedSeq(m);
    // Daemon-side: the answer to a request the daemon instance refused, whose anomaly is recorded.
    if (kind === "stray-response" && daemonSide(m) && this.daemonRefused.delete(seq)) return;
    if (kind === "late-response") {
      const r = this.pendingBySeq.get(seq);
      if (r !== undefined) {
        this.settle(r, m, m.op === OP_HANDLE_ERR ? "error" : "ok", m.op === OP_HANDLE_ERR ? num(m.attrs.errCode) : undefined);
        r.late = true;
      }
      const after = r !== undefined ? ` ${(m.time - r.sent).toFixed(3)} s after the request` : "";
      this.anomaly(
        "warning",
        kind,
        m.index,
        m.time,
        `${m.label} for seq ${seq} came${after}: the client had timed out at ${REQUEST_TIMEOUT_S} s`,
        undefined,
        reason,
      );
    } else if (kind === "duplicate-response") {
      const done = this.answeredBySeq.get(seq) ?? this.answeredBefore.get(seq);
      const when = done?.answered !== undefined ? ` at ${done.answered.toFixed(6)} s` : "";
      this.anomaly("warning", kind, m.index, m.time, `${m.label} for seq ${seq}, which was already answered${when}`, undefined, reason);
    } else if (kind === "stray-response") {
      this.anomaly("warning", kind, m.index, m.time, `${m.label} for seq ${seq}: no such request in the capture`, undefined, reason);
    } else if (kind === "netlink-error") {
      this.anomaly(
        "warning",
        kind,
        m.index,
        m.time,
        `NLMSG_ERROR ${m.control?.value ?? "?"} for seq ${seq}, which no request of the capture had`,
        undefined,
        reason,
      );
    } else {
      const s = statusInfo(code);
      this.anomaly(
        "error",
        kind,
        m.index,
        m.time,
        `${m.label} seq ${m.seq}: the client drops it: ${s.name} (${s.hint})`,
        undefined,
        reason,
      );
    }
  }

  private daemon(): DaemonEpoch | undefined {
    return this.daemons[this.daemons.length - 1];
  }

  /** A new epoch when the engine's daemon port or version moved since `before`. */
  /**
   * A new epoch when the engine's daemon port moved since `before`, or its version did; `settled`:
   * the message showed the version in use (a HELLO answer, a REG_PID reply, a MAPINFO request),
   * which an epoch begun by a HELLO offer waits for.
   */
  private followDaemon(m: NetlinkMessage, before: number | null, reason: string, settled = true): void {
    const port = this.engine.daemonPort();
    if (port === null) return;
    const cur = this.daemon();
    if (cur === undefined || cur.pid !== port || port !== before) {
      this.newEpoch(m, reason);
      return;
    }
    const version = this.engine.version();
    if (cur.version === version || (cur.version === null && !settled)) return;
    if (cur.version === null || cur.sinceIndex === m.index) cur.version = version;
    else this.newEpoch(m, reason);
  }

  /** A new daemon epoch; one a HELLO began has no version until the client answers the offer. */
  private newEpoch(m: NetlinkMessage, reason: string, offered?: number): void {
    const port = this.engine.daemonPort();
    const epoch: DaemonEpoch = {
      pid: port,
      version: port !== null && offered === undefined ? this.engine.version() : null,
      since: m.time,
      sinceIndex: m.index,
      reason,
    };
    if (offered !== undefined) epoch.offered = offered;
    this.daemons.push(epoch);
  }

  private addMapping(
    m: NetlinkMessage,
    record: number,
    local: string,
    mapped: string,
    flags: number,
    source: MappingEntry["source"],
    remote?: string,
    mappedRemote?: string,
  ): MappingEntry {
    // One object shape for every entry: a million of them stay cheap.
    const entry: MappingEntry = { client: m.client as number, local, mapped, flags, source, created: m.time, createdAt: m.index };
    if (remote !== undefined) {
      entry.remote = remote;
      entry.mappedRemote = mappedRemote ?? "";
    }
    this.mappings.push(entry);
    if (record > 0) this.live.set(record, entry);
    return entry;
  }

  /** A peer datagram: the daemon core pairs it with its exchange or drops it; this keeps when. */
  private peerMessage(m: PeerMessage, bytes: Uint8Array | undefined): void {
    if (bytes === undefined) {
      throw new IwpmError(
        "INVALID_ARGUMENT",
        `peer message #${m.index} came without its bytes: pass those the decoder's onMessage hands over, or decode with keepBytes`,
      );
    }
    this.peerEngine ??= new PeerEngine(this.daemonModule);
    const v = this.peerEngine.datagram(m.time, bytes);
    const w = m.wire;
    if (v.kind === "malformed") {
      this.anomaly(
        "error",
        "invalid-message",
        m.index,
        m.time,
        `${m.label} ${w.assochandle}: ${w.problem ?? "not a port mapper message"} (a port mapper drops it)`,
        undefined,
        "PEER_MALFORMED",
      );
      return;
    }
    if (v.kind === "unmatched") {
      this.anomaly(
        "warning",
        "stray-response",
        m.index,
        m.time,
        `peer ${w.typeName} ${w.assochandle} for ${endpoint(w.cpIp, w.cpport)}: no REQUEST in the capture`,
        undefined,
        "PEER_UNMATCHED",
      );
      return;
    }
    const e = v.event;
    let x = this.peerById.get(e.exchange);
    if (x === undefined) {
      x = {
        assochandle: w.assochandle,
        cp: endpointText(e.cp),
        mappedCp: endpointText(e.mappedCp),
        ap: endpointText(e.ap),
        requests: 0,
        first: m.time,
        firstAt: m.index,
      };
      this.peer.push(x);
      this.peerById.set(e.exchange, x);
    }
    x.requests = e.requests;
    if (e.repeat) return;
    if (e.type === PEER_ACCEPT) {
      x.accepted = m.time;
      x.acceptedAt = m.index;
      x.mappedAp = endpointText(e.ap);
    } else if (e.type === PEER_ACK) {
      x.acked = m.time;
      x.ackedAt = m.index;
    } else if (e.type === PEER_REJECT) {
      x.rejected = m.time;
      x.rejectedAt = m.index;
      this.anomaly(
        "warning",
        "peer-reject",
        m.index,
        m.time,
        `peer REJECT ${x.assochandle}: ${x.ap} has no listener mapped (asked by ${x.cp})`,
      );
    }
  }

  /** The exchanges the daemon core finds open at the end of the capture. */
  private peerEnd(endTime: number): void {
    if (this.peerEngine === undefined) return;
    for (const u of this.peerEngine.end(endTime)) {
      const x = this.peerById.get(u.exchange);
      if (x === undefined) continue;
      const timedOut = u.status === Status.TIMEOUT;
      if (!u.accepted) {
        this.anomaly(
          timedOut ? "warning" : "info",
          "peer-unanswered",
          x.firstAt,
          x.first,
          `peer REQUEST ${x.assochandle} from ${x.cp} to ${x.ap} got no ACCEPT or REJECT (${x.requests} sent)`,
          Math.min(x.first + PEER_TIMEOUT_S, endTime),
        );
      } else if (x.accepted !== undefined && x.acceptedAt !== undefined) {
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
  }
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
