import { linuxErrnoFromWasi } from "./linux-errno.js";
import { Status, statusInfo } from "./status.js";

/**
 * What a caller can switch on. Daemon-side failures keep the protocol's own
 * number in `iwpmCode`; core statuses keep theirs in `status`.
 */
export type IwpmErrorCode =
  | "TIMEOUT"
  | "DAEMON_UNAVAILABLE"
  /** The known port mapper exited while the request waited (its port refused a liveness probe). */
  | "DAEMON_GONE"
  | "REJECTED"
  | "REMOTE_REJECTED"
  | "MISMATCH"
  | "INVALID_ARGUMENT"
  | "NOT_INITIALIZED"
  | "NOT_REGISTERED"
  | "NOT_FOUND"
  | "SEND_FAILED"
  | "NETLINK_ERROR"
  /** The host's socket could not be opened, or failed while receiving. */
  | "SOCKET_ERROR"
  | "NATIVE_UNAVAILABLE"
  | "CLOSED"
  /** The caller's AbortSignal fired before the call settled. */
  | "ABORTED"
  | "ABI_MISMATCH"
  /** A table of the core is at its bound (16,777,214 records): remove entries first. */
  | "TABLE_FULL"
  | "INTERNAL";

/** What an IwpmError carries besides its code and message. */
export interface IwpmErrorDetails {
  /** The core status behind the error (docs/abi.md). */
  status?: number;
  /** The IWPM_* error code a port mapper answered with (10..17). */
  iwpmCode?: number;
  /** A WASI errno (the core's numbering); the error shows it as the Linux errno. */
  wasiErrno?: number;
  /** The system call that failed ("sendto", "recvfrom", "socket"). */
  syscall?: string;
  /** The error that caused this one (an AbortSignal's reason, say). */
  cause?: unknown;
}

export class IwpmError extends Error {
  override readonly name = "IwpmError";
  /** The core status behind the error (docs/abi.md), when there is one. */
  readonly status?: number;
  /** The IWPM_* error code a port mapper answered with (10..17). */
  readonly iwpmCode?: number;
  /** The Linux errno number of a failed system call (111 for ECONNREFUSED). */
  readonly errno?: number;
  /** The system call that failed, when known. */
  readonly syscall?: string;

  constructor(
    readonly code: IwpmErrorCode,
    message: string,
    details: IwpmErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    if (details.status !== undefined) this.status = details.status;
    if (details.iwpmCode !== undefined) this.iwpmCode = details.iwpmCode;
    if (details.wasiErrno !== undefined && details.wasiErrno !== 0) {
      // A number outside the WASI table cannot be shown as a Linux errno; it is left out, not guessed.
      const linux = linuxErrnoFromWasi(details.wasiErrno);
      if (linux !== undefined) this.errno = linux.errno;
    }
    if (details.syscall !== undefined) this.syscall = details.syscall;
  }
}

/** "sendto: ECONNREFUSED, errno 111": the system call and Linux errno of a WASI errno, for messages. */
export function describeErrno(wasiErrno: number | undefined, syscall?: string): string {
  if (wasiErrno === undefined || wasiErrno === 0) return "";
  const linux = linuxErrnoFromWasi(wasiErrno);
  const what = linux === undefined ? `WASI errno ${wasiErrno}` : `${linux.name}, errno ${linux.errno}`;
  return syscall === undefined ? what : `${syscall}: ${what}`;
}

const codeOfStatus: Record<number, IwpmErrorCode> = {
  [Status.IWPM_USER_LIB_INFO_ERR]: "MISMATCH",
  [Status.IWPM_REMOTE_QUERY_REJECT]: "REMOTE_REJECTED",
  [Status.TIMEOUT]: "TIMEOUT",
  [Status.NOT_INITIALIZED]: "NOT_INITIALIZED",
  [Status.INVALID_ARGUMENT]: "INVALID_ARGUMENT",
  [Status.DAEMON_UNAVAILABLE]: "DAEMON_UNAVAILABLE",
  [Status.DAEMON_GONE]: "DAEMON_GONE",
  [Status.NOT_REGISTERED]: "NOT_REGISTERED",
  [Status.SEND_FAILED]: "SEND_FAILED",
  [Status.NETLINK_ERROR]: "NETLINK_ERROR",
  [Status.NOT_FOUND]: "NOT_FOUND",
  [Status.CLIENT_EXITED]: "CLOSED",
  [Status.TABLE_FULL]: "TABLE_FULL",
};

/** The protocol's own IWPM_* codes (10..17), which a daemon answers with. */
const isDaemonCode = (status: number) => status >= Status.IWPM_INVALID_NLMSG_ERR && status <= Status.IWPM_VERSION_MISMATCH_ERR;

/**
 * Turns a core status into the typed error; `what` names the call for the message. The message
 * says what happened and what to do; the code is on the error, not repeated in the text. A
 * status named otherwise than its code (a daemon's IWPM_… answer, CLIENT_EXITED) keeps its name.
 */
export function errorFromStatus(status: number, what: string, wasiErrno?: number, syscall?: string): IwpmError {
  const info = statusInfo(status);
  const daemonCode = isDaemonCode(status) ? status : undefined;
  const code = codeOfStatus[status] ?? (daemonCode !== undefined ? "REJECTED" : "INTERNAL");
  const errno = describeErrno(wasiErrno, syscall);
  const named = info.name !== code ? `${info.name}: ` : "";
  const hint = info.hint === "" ? "unexpected status" : info.hint;
  const details: IwpmErrorDetails = { status };
  if (daemonCode !== undefined) details.iwpmCode = daemonCode;
  if (wasiErrno !== undefined) details.wasiErrno = wasiErrno;
  if (wasiErrno !== undefined && wasiErrno !== 0 && syscall !== undefined) details.syscall = syscall;
  return new IwpmError(code, `${what}: ${named}${hint}${errno === "" ? "" : ` (${errno})`}`, details);
}
