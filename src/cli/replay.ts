// iwpm replay FILE: the state a capture leads to (or the state at a moment), and what looks wrong.

import type { CaptureMessage, DecodeStats } from "../replay/decode.js";
import { mappingFlagsText } from "../replay/format.js";
import { type FileMessages, mergeByTime } from "../replay/merge.js";
import { iwpmErrorName } from "../replay/names.js";
import { type PeerExchange, type State, StateBuilder, type Timeline } from "../replay/state.js";
import { CliError, type CliIO, type Command, EXIT, LineWriter, parseCommandArgs, parseCount, parseSeconds } from "./command.js";
import { loadCore, parseSide, type ReadResult, readCaptureFile, readWarnings } from "./load.js";

const help = `Usage: iwpm replay [options] FILE...

Replays a capture (see iwpm decode --help for the formats) and prints what the
client and the daemon knew at the end, or at a given moment. Several FILEs
are merged into one timeline by timestamp first (messages are then numbered
in that timeline):

  daemon            its netlink port (iwpmd's pid) and the ABI version in use
  mappings          the client's mapinfo table (from ADD/QUERY replies,
                    REMOVE requests and MAPINFO records)
  remote info       REMOTE_INFO entries received
  pending requests  sent and not (yet) answered; past 10 s the client has
                    timed out
  peer exchanges    iwpmd UDP queries still open (peer captures)
  anomalies         requests never answered, answers with no request,
                    HANDLE_ERR, daemon restarts, malformed messages, ...

Options:
      --at TIME      the state at TIME seconds after the first packet
                     (e.g. 2.5, 2500ms) instead of at the end
      --limit N      at most N rows per table (default 100; 0: all)
      --json         the state as one JSON object
      --side SIDE    "client" or "daemon": the socket a netlink capture was
                     taken on (inferred by default)
      --strict       exit 1 when there is an anomaly of severity warning or
                     error (up to --at, or in the whole capture)
  -h, --help         this text

Exit codes: 0 done, 1 anomalies found with --strict, 2 bad usage,
3 unreadable file, 4 not a pcap/pcapng file, or one that is damaged or cut
short (the state printed is the one the records before the damage lead to).`;

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    `  ${cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join("  ")
      .trimEnd()}`;
  return [line(head), ...rows.map(line)];
}

const at = (time: number, index: number) => `${time.toFixed(6)} #${index}`;

function more(shown: number, total: number): string[] {
  return total > shown ? [`  … and ${total - shown} more (--limit 0 shows all)`] : [];
}

/** The state as text; netlink sections when the capture has netlink, peer ones when it has peer traffic. */
export function stateText(
  s: State,
  tl: Timeline,
  has: { netlink: boolean; peer: boolean } = { netlink: true, peer: tl.peer.length > 0 },
): string[] {
  const out: string[] = [];
  if (has.netlink) {
    const d = s.daemon;
    out.push(
      d.pid === null && d.version === null
        ? "Daemon: not seen yet"
        : `Daemon: port ${d.pid ?? "unknown"}, ABI ${d.version ?? (d.offered !== undefined ? `${d.offered} offered, not yet answered` : "unknown")} (since ${at(d.since, d.sinceIndex)}: ${d.reason})`,
    );
    const epochs = tl.daemons.filter((e) => e.sinceIndex <= s.index).length;
    if (epochs > 1) out.push(`  ${epochs} daemon states so far (restarts and version changes)`);
    out.push("");

    out.push(`Mappings (${s.counts.mappings}):`);
    if (s.mappings.length > 0) {
      out.push(
        ...table(
          ["client", "local", "mapped", "flags", "from", "since"],
          s.mappings.map((m) => [
            String(m.client),
            m.local,
            m.mapped,
            mappingFlagsText(m.flags),
            m.source + (m.remote ? ` (remote ${m.remote} → ${m.mappedRemote})` : ""),
            at(m.created, m.createdAt),
          ]),
        ),
      );
    }
    out.push(...more(s.mappings.length, s.counts.mappings), "");

    out.push(`Remote info (${s.counts.remoteInfo}):`);
    if (s.remoteInfo.length > 0) {
      out.push(
        ...table(
          ["client", "local", "mapped local", "remote", "mapped remote", "received"],
          s.remoteInfo.map((r) => [String(r.client), r.local, r.mappedLocal, r.remote, r.mappedRemote, at(r.time, r.index)]),
        ),
      );
    }
    out.push(...more(s.remoteInfo.length, s.counts.remoteInfo), "");

    out.push(`Pending requests (${s.counts.pending}):`);
    if (s.pending.length > 0) {
      out.push(
        ...table(
          ["seq", "client", "request", "for", "sent", "waiting"],
          s.pending.map((r) => [
            String(r.seq),
            String(r.client),
            r.label,
            r.subject,
            at(r.sent, r.sentAt),
            `${(s.time - r.sent).toFixed(3)} s${r.overdue ? " (timed out at 10 s)" : ""}`,
          ]),
        ),
      );
    }
    out.push(...more(s.pending.length, s.counts.pending), "");
  }

  if (has.peer) {
    const begun = tl.peer.filter((x) => x.firstAt <= s.index);
    const shown = begun.slice(0, s.limit ?? begun.length);
    out.push(`Peer exchanges (${begun.length}, ${s.counts.peerOpen} open):`);
    if (shown.length > 0) {
      out.push(
        ...table(
          ["handle", "connecting", "mapped", "accepting", "requests", "state", "since"],
          shown.map((x) => [x.assochandle, x.cp, x.mappedCp, x.ap, String(x.requests), peerState(x, s.index), at(x.first, x.firstAt)]),
        ),
      );
    }
    out.push(...more(shown.length, begun.length), "");
  }

  out.push(`Anomalies (${s.counts.anomalies}):`);
  for (const a of s.anomalies)
    out.push(`  ${at(a.time, a.index).padEnd(20)} ${a.severity.padEnd(7)} ${a.text}${a.reason ? ` [${a.reason}]` : ""}`);
  out.push(...more(s.anomalies.length, s.counts.anomalies));
  return out;
}

function peerState(x: PeerExchange, i: number): string {
  const by = (at?: number) => at !== undefined && at <= i;
  if (by(x.rejectedAt)) return "rejected";
  if (by(x.ackedAt)) return `done: ${x.ap} is ${x.mappedAp}`;
  if (by(x.acceptedAt)) return `accepted as ${x.mappedAp}, no ACK yet`;
  return "waiting";
}

/** The statistics of several captures as one: counts added, and the sides the netlink ones were taken on. */
function combinedStats(all: DecodeStats[]): DecodeStats & { sides: string } {
  const [first, ...rest] = all as [DecodeStats, ...DecodeStats[]];
  const sides = [...new Set(all.filter((s) => s.netlinkMessages > 0 && s.side).map((s) => s.side))].join(" and ");
  if (rest.length === 0) return { ...first, sides };
  const sum = (k: "messages" | "netlinkMessages" | "peerMessages" | "records" | "invalid") => all.reduce((n, s) => n + s[k], 0);
  return {
    ...first,
    messages: sum("messages"),
    netlinkMessages: sum("netlinkMessages"),
    peerMessages: sum("peerMessages"),
    records: sum("records"),
    invalid: sum("invalid"),
    sides,
    sideInferred: all.some((s) => s.sideInferred),
  };
}

/** Plain data for --json. */
export function stateJson(s: State): Record<string, unknown> {
  return {
    ...s,
    pending: s.pending.map((r) => ({ ...r, ...(r.errCode !== undefined ? { errName: iwpmErrorName(r.errCode) } : {}) })),
  };
}

async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    at: { type: "string" },
    limit: { type: "string" },
    json: { type: "boolean" },
    side: { type: "string" },
    strict: { type: "boolean" },
  });
  if (values.help) {
    io.stdout.write(`${help}\n`);
    return EXIT.OK;
  }
  if (positionals.length === 0) throw new CliError("a capture FILE is required (see iwpm replay --help)", EXIT.USAGE);
  if (positionals.filter((p) => p === "-").length > 1) throw new CliError('stdin ("-") can be read only once', EXIT.USAGE);
  const moment = values.at !== undefined ? parseSeconds(values.at as string, "--at") : undefined;
  const limit = values.limit !== undefined ? parseCount(values.limit as string, "--limit") : 100;
  const side = parseSide(values.side as string | undefined);

  const core = await loadCore();
  const builder = new StateBuilder();
  const results: { path: string; result: ReadResult }[] = [];
  if (positionals.length === 1) {
    const path = positionals[0] as string;
    const result = await readCaptureFile(path, io, core, {
      ...(side ? { side } : {}),
      onMessage: (m, bytes) => builder.add(m, bytes),
    });
    results.push({ path, result });
  } else {
    // Several captures (two hosts'): one timeline by timestamp, messages numbered in it.
    const files: FileMessages[] = [];
    for (const path of positionals) {
      const messages: CaptureMessage[] = [];
      const result = await readCaptureFile(path, io, core, {
        ...(side ? { side } : {}),
        keepBytes: true,
        onMessages: (batch: CaptureMessage[]) => {
          for (const m of batch) messages.push(m);
        },
      });
      files.push({ messages, first: result.stats.first });
      results.push({ path, result });
    }
    let index = 0;
    for (const [, m, time] of mergeByTime(files)) builder.add({ ...m, index: index++, time });
  }
  for (const { path, result } of results) for (const w of readWarnings(path, result)) io.stderr.write(`iwpm replay: ${w}\n`);
  const path = positionals.join(" + ");
  const st = combinedStats(results.map((r) => r.result.stats));
  const tl = builder.finish();
  const opts = limit === 0 ? {} : { limit };
  const state = moment === undefined ? tl.final(opts) : tl.stateAt(moment, opts);
  const out = new LineWriter(io.stdout);
  if (values.json) {
    await out.line(
      JSON.stringify({
        file: positionals.length === 1 ? path : undefined,
        files: positionals.length > 1 ? positionals : undefined,
        messages: st.messages,
        netlinkMessages: st.netlinkMessages,
        peerMessages: st.peerMessages,
        records: st.records,
        invalid: st.invalid,
        side: st.netlinkMessages > 0 ? st.sides : undefined,
        duration: tl.end,
        at: moment ?? null,
        state: stateJson(state),
      }),
    );
  } else {
    await out.line(
      `${path}: ${st.messages} messages (${st.netlinkMessages} netlink, ${st.peerMessages} peer) in ${st.records} packets over ${tl.end.toFixed(6)} s` +
        (st.netlinkMessages > 0 ? `; netlink captured on the ${st.sides} side${st.sideInferred ? " (inferred)" : ""}` : ""),
    );
    if (moment !== undefined && moment > tl.end)
      await out.line(`(--at ${moment} s is past the end of the capture: the state at the end follows)`);
    await out.line(
      moment === undefined
        ? `State at the end (${state.time.toFixed(6)} s):`
        : `State at ${moment.toFixed(6)} s (after message #${state.index}):`,
    );
    await out.line("");
    for (const l of stateText(state, tl, { netlink: st.netlinkMessages > 0 || st.peerMessages === 0, peer: st.peerMessages > 0 }))
      await out.line(l);
  }
  await out.flush();
  // The state above is what the records before any damage lead to.
  const damaged = results.filter((r) => r.result.error);
  for (const { path: p, result } of damaged) io.stderr.write(`iwpm replay: ${p}: ${result.error?.message}\n`);
  if (damaged.length > 0) return EXIT.FORMAT;
  if (values.strict && state.anomalies.some((a) => a.severity !== "info")) return EXIT.FAILURE;
  if (values.strict && state.counts.anomalies > state.anomalies.length) {
    // cut by --limit: look at the rest
    const all = moment === undefined ? tl.final() : tl.stateAt(moment);
    if (all.anomalies.some((a) => a.severity !== "info")) return EXIT.FAILURE;
  }
  return EXIT.OK;
}

export const command: Command = { name: "replay", summary: "the tables, pending requests and anomalies a capture leads to", help, run };
export default command;
