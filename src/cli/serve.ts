// `iwpm serve`: the built-in port mapper service as a drop-in for iwpmd: iwpmd's `-s` (systemd
// notification), its configuration file, syslog, SIGUSR1 table dump and SIGTERM/SIGHUP exit,
// plus bounds on mappings, counters and a capture of its own traffic.

import { readFileSync } from "node:fs";
import { formatAddress } from "../api/address.js";
import { errnoName } from "../core/errno.js";
import { IwpmError } from "../core/errors.js";
import type { SockAddr } from "../core/sockaddr.js";
import { statusInfo } from "../core/status.js";
import { type CaptureWriter, openServiceCapture } from "../service/capture.js";
import {
  DEFAULT_CONFIG_FILE,
  type LogLevel,
  NUMERIC,
  parseClientUid,
  parseConfig,
  parseLogLevel,
  parseProtocol,
  parseSetting,
  type ServiceSettings,
  SettingError,
} from "../service/config.js";
import { createLogger, type Logger, type LogSink, streamSink, syslogSink } from "../service/log.js";
import { loadServiceNative } from "../service/native.js";
import { DEFAULT_RECV_BUFFER, openPortMapperService, type ServiceSockets } from "../service/node.js";
import { notifierFromEnv, type SystemdNotifier } from "../service/notify.js";
import { BoundPortReserver } from "../service/ports.js";
import {
  DEFAULT_MAX_MAPPINGS,
  DEFAULT_MAX_MAPPINGS_PER_PORT,
  DEFAULT_QUERY_TICKS,
  type PortMapperService,
  type PortMapperServiceEvents,
} from "../service/service.js";
import { formatStats } from "../service/stats.js";
import { CliError, type CliIO, type Command, EXIT, parseCommandArgs } from "./command.js";
import { renderTable } from "./table.js";

const help = `Usage: iwpm serve [-s] [--config FILE] [options]

Runs the iwpmd-compatible port mapper service in the foreground: it answers
clients on a netlink socket (REG_PID, ADD/QUERY/REMOVE_MAPPING, MAPINFO) and
other port mappers on UDP (iwpmd's wire protocol), holding a real TCP port for
each mapping. SIGUSR1 logs the mapping table (and the counters); SIGTERM,
SIGINT and SIGHUP release every port and exit.

Options (each also a line "key = value" of the configuration file):
  -s, --systemd        run under systemd: READY=1, STATUS= and STOPPING=1 to
                       NOTIFY_SOCKET; log to syslog
  -f, --foreground     accepted for iwpmd's sake (the service never forks)
  --config FILE        settings file (default ${DEFAULT_CONFIG_FILE} when it exists)
  --protocol P         netlink family: auto (default: 20 NETLINK_RDMA where the
                       kernel offers it, else 2), 20, or 2 NETLINK_USERSOCK [protocol]
  --port N             our netlink port (default: the process id) [netlink_port]
  --client-port N      where HELLO, MAPINFO requests, REMOTE_INFO and HANDLE_ERR
                       go (default 0, the kernel) [client_port]
  --udp-port N         the peers' UDP port, 1..65535 (default 3935) [udp_port]
  --rcvbuf N           netlink receive buffer in bytes (default ${DEFAULT_RECV_BUFFER})
                       [nl_sock_rbuf_size]
  --max-mappings N     live mappings in all (default ${DEFAULT_MAX_MAPPINGS}; 0: no bound) [max_mappings]
  --max-mappings-per-port N
                       live mappings one netlink port may ask for; the kernel
                       (port 0) is exempt (default ${DEFAULT_MAX_MAPPINGS_PER_PORT}; 0: no bound)
                       [max_mappings_per_port]
  --query-ticks N      seconds a peer query waits, its request re-sent each
                       second, before the client is answered
                       IWPM_REMOTE_QUERY_REJECT; 1..10 (default ${DEFAULT_QUERY_TICKS}) [query_ticks]
  --client-uid U       only processes of this uid may speak as clients, judged by
                       the kernel-attested credentials of each datagram; "any"
                       trusts every local process (default 0; the kernel, at
                       port 0, always may) [client_uid]
  --log-level L        error, warning, notice, info (default) or debug [log_level]
  --log-target T       auto (default: syslog with -s, else stdout), syslog, stdout
  --stats              log the counters at exit and with every SIGUSR1 dump
  --stats-interval N   ...and every N seconds (0..86400) [stats_interval]
  --capture FILE       record the service's netlink and peer traffic (pcapng)
                       for iwpm decode, iwpm replay and iwpm web
  -h, --help           this text

Differences from iwpmd:
  - a bad setting stops the service with one line and exit code 2 (iwpmd
    logs and goes on);
  - mappings are bounded (above); beyond a bound the request is answered
    IWPM_CREATE_MAPPING_ERR;
  - a query whose peer never answers is answered IWPM_REMOTE_QUERY_REJECT
    (iwpmd drops it and the client times out);
  - HELLO offering an ABI version below 3 is ignored and counted;
  - without the native module, mapped ports are held by sockets that listen
    (backlog 1, connections closed at once) where iwpmd only binds, and -s can
    neither notify systemd nor reach syslog: the start-up line says which.

Without CAP_NET_ADMIN on NETLINK_USERSOCK the service cannot join the port
mappers' multicast group; clients then reach it through the HELLO it sends
to --client-port.`;

const fmt = (a: SockAddr | null) => (a ? formatAddress(a) : "-");

export function mappingTable(service: PortMapperService): string {
  return renderTable(
    ["client", "local", "mapped", "refs", "port held"],
    service.mappings().map((m) => [String(m.nlClient), fmt(m.local), fmt(m.mapped), String(m.refcount), m.portHeld ? "yes" : "no"]),
  );
}

/** Command-line options that are settings, by their configuration-file key. */
const OPTION_KEYS: Record<string, string> = {
  port: "netlink_port",
  "client-port": "client_port",
  "udp-port": "udp_port",
  rcvbuf: "nl_sock_rbuf_size",
  "max-mappings": "max_mappings",
  "max-mappings-per-port": "max_mappings_per_port",
  "query-ticks": "query_ticks",
  "stats-interval": "stats_interval",
};

function readConfig(file: string | undefined): ServiceSettings {
  const path = file ?? DEFAULT_CONFIG_FILE;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    // iwpmd runs without its file; a file named on the command line must be there.
    if (file === undefined && (err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new CliError(`cannot read the settings file ${path}: ${(err as Error).message}`, EXIT.INPUT);
  }
  return parseConfig(text, path);
}

function settingsFrom(values: Record<string, string | boolean | undefined>): ServiceSettings {
  const fromFile = readConfig(values.config as string | undefined);
  const fromArgs: ServiceSettings = {};
  for (const [option, key] of Object.entries(OPTION_KEYS)) {
    const text = values[option];
    if (typeof text !== "string") continue;
    const spec = NUMERIC[key];
    if (spec === undefined) continue;
    (fromArgs as Record<string, number>)[spec.key] = parseSetting(`--${option}`, text, spec);
  }
  if (typeof values.protocol === "string") fromArgs.protocol = parseProtocol("--protocol", values.protocol);
  if (typeof values["log-level"] === "string") fromArgs.logLevel = parseLogLevel("--log-level", values["log-level"]);
  if (typeof values["client-uid"] === "string") fromArgs.clientUid = parseClientUid("--client-uid", values["client-uid"]);
  return { ...fromFile, ...fromArgs };
}

/** At most `burst` lines per key in each window; the rest are counted and summed up once the window ends. */
class LineLimiter {
  private readonly windows = new Map<string, { start: number; lines: number; suppressed: number }>();
  constructor(
    private readonly burst: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether to log a line under `key`; `onSummary` hears how many were held back before. */
  allow(key: string, onSummary: (suppressed: number) => void): boolean {
    const t = this.now();
    let w = this.windows.get(key);
    if (w === undefined || t - w.start >= this.windowMs) {
      if (w !== undefined && w.suppressed > 0) onSummary(w.suppressed);
      w = { start: t, lines: 0, suppressed: 0 };
      this.windows.set(key, w);
    }
    if (w.lines < this.burst) {
      w.lines++;
      return true;
    }
    w.suppressed++;
    return false;
  }
}

function logEvents(service: PortMapperService, logger: Logger): void {
  const limiter = new LineLimiter(5, 10_000);
  const limited = (level: LogLevel, key: string, line: string) => {
    if (!logger.enabled(level)) return;
    if (limiter.allow(key, (n) => logger.log(level, `${n} more like "${key}" held back`))) logger.log(level, line);
  };
  service.on("clientRegistered", (e) =>
    limited("info", "registered", `client ${e.nlClient} registered from netlink port ${e.port}${e.first ? "" : " (again)"}`),
  );
  service.on("mappingAdded", (e) =>
    limited("debug", "added", `${e.op}: ${fmt(e.local)} -> ${fmt(e.mapped)} (client ${e.nlClient}, refs ${e.refcount})`),
  );
  service.on("mappingRemoved", (e) => limited("debug", "removed", `removed ${fmt(e.local)} (client ${e.nlClient}, refs ${e.refcount})`));
  service.on("requestFailed", (e: PortMapperServiceEvents["requestFailed"]) => {
    // A REMOVE of a mapping that is not there is ordinary teardown.
    const level: LogLevel = e.name === "NOT_FOUND" ? "debug" : "warning";
    if (e.name === "SEND_FAILED") {
      const why = errnoName(e.errno) ?? `errno ${e.errno}`;
      limited(level, "not delivered", `${e.op} for client ${e.nlClient} not delivered (${why}): nobody reads at that netlink port`);
      return;
    }
    const answered = e.errorSent ? ", answered with HANDLE_ERR" : "";
    limited(level, `refused ${e.name}`, `${e.op} from client ${e.nlClient} (netlink port ${e.port}) refused: ${e.name}${answered}`);
  });
  service.on("queryDone", (e) =>
    limited(
      e.status === 0 ? "debug" : "info",
      `query ${e.name}`,
      `query ${fmt(e.local)} -> ${fmt(e.remote)}: ${e.status === 0 ? "accepted" : e.name}`,
    ),
  );
  service.on("peerRequest", (e) =>
    limited("debug", "peer", `peer asks for ${fmt(e.local)} from ${fmt(e.remote)}: ${e.accepted ? "accepted" : statusInfo(e.status).name}`),
  );
  service.on("overrun", (e) =>
    limited(
      "warning",
      "overrun",
      `netlink receive queue overran (${e.total} so far): the kernel dropped datagrams unread; clients whose requests were lost retry or time out (raise --rcvbuf / nl_sock_rbuf_size if this recurs)`,
    ),
  );
  service.on("error", (e) => logger.log("error", e.message));
}

function startupLine(s: ServiceSockets, settings: ServiceSettings, service: PortMapperService, native: boolean): string {
  const protocol = s.protocol === 20 ? "NETLINK_RDMA" : "NETLINK_USERSOCK";
  const why =
    s.protocolReason === "probed" ? ", the kernel offers it" : s.protocolReason === "fallback" ? ", no NETLINK_RDMA in this kernel" : "";
  const families = s.families.map((f) => `IPv${f}`).join(" and ");
  const bound = (n: number) => (n === 0 ? "unbounded" : String(n));
  return [
    `iwpm serve: ${protocol} (${s.protocol}${why}), netlink port ${s.port}${s.multicast ? "" : " (not in the multicast group)"}`,
    `UDP port ${settings.udpPort ?? 3935} (${families})`,
    `ABI v${service.version()}`,
    `mappings ${bound(settings.maxMappings ?? DEFAULT_MAX_MAPPINGS)} in all, ${bound(settings.maxMappingsPerPort ?? DEFAULT_MAX_MAPPINGS_PER_PORT)} per port`,
    `peer queries answered within ${settings.queryTicks ?? DEFAULT_QUERY_TICKS} s`,
    `clients trusted: ${settings.clientUid === "any" ? "any local process" : `uid ${settings.clientUid ?? 0}`} and the kernel`,
    s.bindOnly ? "ports held by bind" : `ports held by listening sockets${native ? "" : " (no native module)"}`,
  ].join(", ");
}

async function run(args: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs(args, {
    systemd: { type: "boolean", short: "s" },
    foreground: { type: "boolean", short: "f" },
    config: { type: "string" },
    protocol: { type: "string" },
    port: { type: "string" },
    "client-port": { type: "string" },
    "udp-port": { type: "string" },
    rcvbuf: { type: "string" },
    "max-mappings": { type: "string" },
    "max-mappings-per-port": { type: "string" },
    "query-ticks": { type: "string" },
    "log-level": { type: "string" },
    "client-uid": { type: "string" },
    "log-target": { type: "string" },
    stats: { type: "boolean" },
    "stats-interval": { type: "string" },
    capture: { type: "string" },
  });
  if (values.help) {
    io.stdout.write(`${help}\n`);
    return EXIT.OK;
  }
  let settings: ServiceSettings;
  try {
    settings = settingsFrom(values);
  } catch (err) {
    if (err instanceof SettingError) throw new CliError(err.message, EXIT.USAGE);
    throw err;
  }
  const target = values["log-target"] ?? "auto";
  if (!["auto", "syslog", "stdout"].includes(target))
    throw new CliError(`--log-target "${target}" is not auto, syslog or stdout`, EXIT.USAGE);
  const systemd = values.systemd === true;

  const native = await loadServiceNative();
  const stdoutSink = streamSink(io.stdout);
  const notes: string[] = [];
  let sink: LogSink = stdoutSink;
  if (target === "syslog" || (target === "auto" && systemd)) {
    if (native !== undefined) sink = syslogSink({ send: native.unixSend, pid: process.pid, fallback: stdoutSink });
    else notes.push("syslog needs the native module, which this build lacks: logging to stdout");
  }
  const logger = createLogger(settings.logLevel ?? "info", sink);
  const notifier: SystemdNotifier | undefined = systemd
    ? notifierFromEnv(process.env, native?.unixSend ?? (() => -38) /* ENOSYS */)
    : undefined;
  if (systemd && notifier?.enabled === false) notes.push("-s: NOTIFY_SOCKET is not set, so systemd is not told when the service is ready");
  else if (systemd && native === undefined)
    notes.push("-s: sd_notify needs the native module, which this build lacks: systemd is not told");

  let capture: CaptureWriter | undefined;
  if (values.capture !== undefined) {
    try {
      capture = openServiceCapture(values.capture, (err) => logger.log("error", `capture stopped: ${(err as Error).message}`));
    } catch (err) {
      throw new CliError(`cannot write the capture ${values.capture}: ${(err as Error).message}`, EXIT.INPUT);
    }
  }

  let service: PortMapperService;
  let sockets: ServiceSockets | undefined;
  const ports = native !== undefined ? new BoundPortReserver(native) : undefined;
  try {
    service = await openPortMapperService({
      protocol: settings.protocol ?? "auto",
      ...(settings.port !== undefined ? { port: settings.port } : {}),
      ...(settings.clientPort !== undefined ? { clientPort: settings.clientPort } : {}),
      ...(settings.udpPort !== undefined ? { udpPort: settings.udpPort } : {}),
      ...(settings.recvBufferSize !== undefined ? { recvBufferSize: settings.recvBufferSize, forceRecvBuffer: true } : {}),
      ...(settings.maxMappings !== undefined ? { maxMappings: settings.maxMappings } : {}),
      ...(settings.maxMappingsPerPort !== undefined ? { maxMappingsPerPort: settings.maxMappingsPerPort } : {}),
      ...(settings.queryTicks !== undefined ? { queryTicks: settings.queryTicks } : {}),
      ...(settings.clientUid !== undefined ? { clientUid: settings.clientUid } : {}),
      ...(ports !== undefined ? { ports } : {}),
      ...(capture !== undefined ? { tapNetlink: capture.tapNetlink, tapUdp: capture.tapUdp } : {}),
      onOpen: (s) => {
        sockets = s;
      },
      onService: (s) => {
        logEvents(s, logger);
        // Every socket is open: from here on the service answers, so systemd hears it first.
        if (notifier?.enabled) {
          notifier.ready(`serving on netlink port ${s.port}`);
          logger.log("info", "told systemd: READY=1");
        }
      },
      log: (line, level) => logger.log(level ?? "info", line),
    });
  } catch (err) {
    capture?.close();
    if (err instanceof IwpmError) {
      const hint = /EADDRINUSE/.test(err.message)
        ? " (another port mapper runs here: stop it, or use --udp-port and --port)"
        : /EPROTONOSUPPORT|EPERM|EACCES/.test(err.message) && settings.protocol === 20
          ? " (NETLINK_RDMA needs an RDMA-capable kernel and root; use --protocol 2 without them)"
          : "";
      throw new CliError(`${err.message}${hint}`);
    }
    throw err;
  }
  for (const note of notes) logger.log("warning", note);
  const ready = startupLine(sockets as ServiceSockets, settings, service, native !== undefined);
  logger.log("notice", ready);

  const stats = () => {
    const s = service.stats();
    logger.log("notice", `stats: ${formatStats(s, service.overruns)}`);
    notifier?.status(`serving on netlink port ${service.port}: ${s.mappings} mappings`);
  };
  const statsEvery = settings.statsInterval ?? 0;
  const statsTimer = statsEvery > 0 ? setInterval(stats, statsEvery * 1000) : undefined;

  return new Promise<number>((resolve) => {
    const dump = () => {
      logger.log("notice", `mappings (${service.mappings().length}):\n${mappingTable(service)}`);
      if (values.stats || statsEvery > 0) stats();
    };
    const stop = (signal: string) => {
      const held = service.mappings().length;
      if (statsTimer !== undefined) clearInterval(statsTimer);
      if (values.stats || statsEvery > 0) stats();
      logger.log("notice", `${signal}: releasing ${held} mapped port${held === 1 ? "" : "s"} and exiting`);
      notifier?.stopping(`${signal}: stopping`);
      for (const s of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.off(s, handlers[s]);
      process.off("SIGUSR1", dump);
      void Promise.resolve(service.close()).then(() => {
        capture?.close();
        resolve(EXIT.OK);
      });
    };
    const handlers = { SIGTERM: () => stop("SIGTERM"), SIGINT: () => stop("SIGINT"), SIGHUP: () => stop("SIGHUP") };
    for (const s of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(s, handlers[s]);
    process.on("SIGUSR1", dump);
    io.signal?.addEventListener("abort", () => stop("abort"), { once: true });
  });
}

const serve: Command = { name: "serve", summary: "run the iwpmd-compatible port mapper service (iwpmd -s)", help, run };
export default serve;
