import { statusInfo } from "./status.js";

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
  | "NATIVE_UNAVAILABLE"
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
  15: "MISMATCH",
  16: "REMOTE_REJECTED",
  120: "TIMEOUT",
  121: "NOT_INITIALIZED",
  122: "INVALID_ARGUMENT",
  123: "DAEMON_UNAVAILABLE",
  124: "NOT_REGISTERED",
  125: "SEND_FAILED",
  126: "NETLINK_ERROR",
  127: "NOT_FOUND",
  128: "CLOSED",
};

/** Turns a core status into the typed error; `what` names the call for the message. */
export function errorFromStatus(status: number, what: string, errno?: number): IwpmError {
  const info = statusInfo(status);
  const daemonCode = status >= 10 && status <= 17 ? status : undefined;
  const code = codeOfStatus[status] ?? (daemonCode !== undefined ? "REJECTED" : "INTERNAL");
  const detail = errno !== undefined && errno !== 0 ? ` (errno ${errno})` : "";
  return new IwpmError(code, `${what}: ${info.name}${detail}: ${info.hint}`, status, daemonCode, errno);
}
