// The service's log: levels as syslog has them, one prefix format, and two sinks: a stream
// (`iwpm serve` in the foreground) and syslog (under systemd, or when asked), where iwpmd logs.
// Syslog is a datagram to /dev/log; Node has no AF_UNIX datagram sockets, so the sender is
// injected (see notify.ts). Portable.

import { LOG_LEVELS, type LogLevel } from "./config.js";
import type { UnixSender } from "./notify.js";

export type { LogLevel } from "./config.js";

/** syslog(3)'s severities, by our level names. */
const SEVERITY: Record<LogLevel, number> = { error: 3, warning: 4, notice: 5, info: 6, debug: 7 };
/** LOG_DAEMON, as iwpmd opens its log. */
const FACILITY_DAEMON = 3;
export const SYSLOG_PATH = "/dev/log";

export type LogSink = (level: LogLevel, message: string) => void;

export interface Logger {
  readonly level: LogLevel;
  log(level: LogLevel, message: string): void;
  enabled(level: LogLevel): boolean;
}

/** A logger that passes on what is at `level` or more severe. */
export function createLogger(level: LogLevel, sink: LogSink): Logger {
  const limit = LOG_LEVELS.indexOf(level);
  const enabled = (l: LogLevel) => LOG_LEVELS.indexOf(l) <= limit;
  return {
    level,
    enabled,
    log(l, message) {
      if (enabled(l)) sink(l, message);
    },
  };
}

/** `2026-11-29T18:00:00.000Z info: message` lines on a stream. */
export function streamSink(stream: { write(text: string): unknown }, clock: () => Date = () => new Date()): LogSink {
  return (level, message) => {
    stream.write(`${clock().toISOString()} ${level}: ${message}\n`);
  };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const two = (n: number) => String(n).padStart(2, "0");

/** The local-socket syslog line glibc's syslog(3) sends: `<PRI>Mmm dd hh:mm:ss tag[pid]: message`. */
export function syslogLine(level: LogLevel, message: string, tag: string, pid: number, at: Date): string {
  const pri = FACILITY_DAEMON * 8 + SEVERITY[level];
  const stamp = `${MONTHS[at.getMonth()]} ${String(at.getDate()).padStart(2, " ")} ${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`;
  return `<${pri}>${stamp} ${tag}[${pid}]: ${message}`;
}

export interface SyslogSinkOptions {
  send: UnixSender;
  tag?: string;
  pid: number;
  path?: string;
  /** Where a line goes when syslog does not take it (no /dev/log, no sender); told once why. */
  fallback: LogSink;
  clock?: () => Date;
}

/** Lines to syslog; when a send fails, that line and every later one go to the fallback. */
export function syslogSink(o: SyslogSinkOptions): LogSink {
  const path = o.path ?? SYSLOG_PATH;
  const tag = o.tag ?? "iwpm";
  const clock = o.clock ?? (() => new Date());
  let failed = false;
  return (level, message) => {
    if (!failed) {
      const r = o.send(path, new TextEncoder().encode(syslogLine(level, message, tag, o.pid, clock())));
      if (r >= 0) return;
      failed = true;
      o.fallback("warning", `syslog at ${path} refused a line (errno ${-r}); logging here from now on`);
    }
    o.fallback(level, message);
  };
}
