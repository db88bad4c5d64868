// The service's settings: iwpmd's configuration file (`/etc/iwpmd.conf`, `name = value` lines,
// `#` comments) with iwpmd's one key and ours, and the range every numeric setting must lie in,
// shared by the file and the command line so both refuse the same values with the same words.
// Portable: the caller reads the file.

/** iwpmd's configuration file, read when it exists and no other file is named. */
export const DEFAULT_CONFIG_FILE = "/etc/iwpmd.conf";

export const LOG_LEVELS = ["error", "warning", "notice", "info", "debug"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServiceSettings {
  /** Netlink family: 20 NETLINK_RDMA, 2 NETLINK_USERSOCK, or "auto" (20 where the kernel has it). */
  protocol?: 2 | 20 | "auto";
  /** The service's netlink port id (default its pid, as iwpmd). */
  port?: number;
  /** Where unsolicited messages go (default 0, the kernel). */
  clientPort?: number;
  /** The peers' UDP port (default 3935). */
  udpPort?: number;
  /** The netlink socket's receive buffer in bytes (iwpmd's nl_sock_rbuf_size). */
  recvBufferSize?: number;
  /** Bound on live mappings in total (0 = none, as iwpmd). */
  maxMappings?: number;
  /** Bound on live mappings asked for by one netlink port; the kernel (port 0) is exempt (0 = none). */
  maxMappingsPerPort?: number;
  /** Seconds a query waits for its peer before the client is answered IWPM_REMOTE_QUERY_REJECT. */
  queryTicks?: number;
  logLevel?: LogLevel;
  /** Who may speak as a client, by kernel-attested credentials: this uid, or "any" (default 0; the kernel always may). */
  clientUid?: number | "any";
  /** Seconds between two `--stats` lines (0 = only at exit and on SIGUSR1). */
  statsInterval?: number;
}

/** A setting refused: `code` for programs, a message that names the setting, the value and the range. */
export class SettingError extends Error {
  override readonly name = "SettingError";
  readonly code = "INVALID_SETTING";
}

interface NumericSetting {
  key: keyof ServiceSettings;
  min: number;
  max: number;
  /** What the value is, for the error message. */
  what: string;
}

const U32_MAX = 0xffff_ffff;
/** Linux keeps SO_RCVBUF in an int and doubles it. */
const RCVBUF_MAX = 0x3fff_ffff;
/** Mappings the core can index comfortably; iwpmd itself has no bound. */
const MAPPINGS_MAX = 1_000_000;
/** iwpmd's own query budget (IWPM_MAP_REQ_TIMEOUT), the longest a query may wait. */
export const QUERY_TICKS_MAX = 10;

/** Every numeric setting by its file key; the option of the same meaning is `--` + the key with dashes. */
export const NUMERIC: Record<string, NumericSetting> = {
  nl_sock_rbuf_size: { key: "recvBufferSize", min: 1, max: RCVBUF_MAX, what: "a receive buffer size in bytes" },
  netlink_port: { key: "port", min: 0, max: U32_MAX, what: "a netlink port id (0: the kernel picks)" },
  client_port: { key: "clientPort", min: 0, max: U32_MAX, what: "a netlink port id" },
  udp_port: { key: "udpPort", min: 1, max: 0xffff, what: "a UDP port" },
  max_mappings: { key: "maxMappings", min: 0, max: MAPPINGS_MAX, what: "a number of mappings (0: no bound)" },
  max_mappings_per_port: { key: "maxMappingsPerPort", min: 0, max: MAPPINGS_MAX, what: "a number of mappings (0: no bound)" },
  query_ticks: { key: "queryTicks", min: 1, max: QUERY_TICKS_MAX, what: "seconds a peer query waits" },
  stats_interval: { key: "statsInterval", min: 0, max: 86_400, what: "seconds between stats lines (0: at exit only)" },
};

/** A whole number of `setting` in its range, or a SettingError saying which range. */
export function parseSetting(name: string, text: string, spec: Pick<NumericSetting, "min" | "max" | "what">): number {
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < spec.min || value > spec.max) {
    throw new SettingError(`${name} "${text}" is not ${spec.what} of ${spec.min}..${spec.max}`);
  }
  return value;
}

export function parseProtocol(name: string, text: string): 2 | 20 | "auto" {
  if (text === "auto") return "auto";
  if (text === "2" || text === "20") return Number(text) as 2 | 20;
  throw new SettingError(`${name} "${text}" is not 2 (NETLINK_USERSOCK), 20 (NETLINK_RDMA) or auto`);
}

/** "any" or a uid of 0..2^32-1. */
export function parseClientUid(name: string, text: string): number | "any" {
  if (text === "any") return "any";
  return parseSetting(name, text, { min: 0, max: U32_MAX, what: 'a uid (or "any")' });
}

export function parseLogLevel(name: string, text: string): LogLevel {
  if ((LOG_LEVELS as readonly string[]).includes(text)) return text as LogLevel;
  throw new SettingError(`${name} "${text}" is not a log level (${LOG_LEVELS.join(", ")})`);
}

const FILE_KEYS = [...Object.keys(NUMERIC), "protocol", "log_level", "client_uid"];

/**
 * Reads a configuration file's text. Lines are `name = value` (spaces optional) as iwpmd reads
 * them; blank lines and lines starting with `#` are skipped. Unlike iwpmd, which logs and skips
 * what it cannot read, an unknown key, a malformed line or a value out of range is refused:
 * a service that silently runs with other settings than its operator wrote is worse than one
 * that does not start.
 */
export function parseConfig(text: string, file: string): ServiceSettings {
  const out: ServiceSettings = {};
  const seen = new Map<string, number>();
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.replace(/\r$/, "").trim();
    const where = `${file}:${i + 1}`;
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(line);
    if (m === null) throw new SettingError(`${where}: "${line}" is not a setting (name = value)`);
    const [, key = "", value = ""] = m;
    if (!FILE_KEYS.includes(key)) throw new SettingError(`${where}: unknown setting "${key}"; known: ${FILE_KEYS.join(", ")}`);
    const earlier = seen.get(key);
    if (earlier !== undefined) throw new SettingError(`${where}: "${key}" is set again (first at line ${earlier})`);
    seen.set(key, i + 1);
    const name = `${where}: ${key}`;
    if (key === "protocol") out.protocol = parseProtocol(name, value);
    else if (key === "log_level") out.logLevel = parseLogLevel(name, value);
    else if (key === "client_uid") out.clientUid = parseClientUid(name, value);
    else {
      const spec = NUMERIC[key] as NumericSetting;
      (out as Record<string, number>)[spec.key] = parseSetting(name, value, spec);
    }
  }
  return out;
}
