import { Status, statusInfo } from "./status.js";

/**
 * What a caller can switch on. Daemon-side failures keep the protocol's own
 * number in `iwpmCode`; core statuses keep theirs in `status`.
 */
export type IwpmErrorCode =
  | "TIMEOUT"
  | "DAEMON_UNAVAILABLE"
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
  | "CLOSED"
  | "ABI_MISMATCH"
  | "INTERNAL";

export class IwpmError extends Error {
  override readonly name = "IwpmError";
  constructor(
    readonly code: IwpmErrorCode,
    message: string,
    /** The core status behind the error (docs/abi.md), when there is one. */
    readonly status?: number,
    /** The IWPM_* error code a port mapper answered with (10..17). */
    readonly iwpmCode?: number,
    /** The WASI errno of a failed send. */
    readonly errno?: number,
  ) {
    super(message);
  }
}

const codeOfStatus: Record<number, IwpmErrorCode> = {
  [Status.IWPM_USER_LIB_INFO_ERR]: "MISMATCH",
  [Status.IWPM_REMOTE_QUERY_REJECT]: "REMOTE_REJECTED",
  [Status.TIMEOUT]: "TIMEOUT",
  [Status.NOT_INITIALIZED]: "NOT_INITIALIZED",
  [Status.INVALID_ARGUMENT]: "INVALID_ARGUMENT",
  [Status.DAEMON_UNAVAILABLE]: "DAEMON_UNAVAILABLE",
  [Status.NOT_REGISTERED]: "NOT_REGISTERED",
  [Status.SEND_FAILED]: "SEND_FAILED",
  [Status.NETLINK_ERROR]: "NETLINK_ERROR",
  [Status.NOT_FOUND]: "NOT_FOUND",
  [Status.CLIENT_EXITED]: "CLOSED",
};

/** The protocol's own IWPM_* codes (10..17), which a daemon answers with. */
const isDaemonCode = (status: number) => status >= Status.IWPM_INVALID_NLMSG_ERR && status <= Status.IWPM_VERSION_MISMATCH_ERR;

/** Turns a core status into the typed error; `what` names the call for the message. */
export function errorFromStatus(status: number, what: string, errno?: number): IwpmError {
  const info = statusInfo(status);
  const daemonCode = isDaemonCode(status) ? status : undefined;
  const code = codeOfStatus[status] ?? (daemonCode !== undefined ? "REJECTED" : "INTERNAL");
  const detail = errno !== undefined && errno !== 0 ? ` (errno ${errno})` : "";
  return new IwpmError(code, `${what}: ${info.name}${detail}: ${info.hint}`, status, daemonCode, errno);
}
