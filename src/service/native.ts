// What `iwpm serve` needs from native code and Node lacks: an AF_UNIX datagram sender (sd_notify,
// syslog) and TCP sockets bound without listening (iwpmd's way of holding a mapped port).
// The native module provides both; until it is built into this package, there is none, and the
// service logs to a stream, cannot notify systemd, and holds ports with listening sockets.

import type { UnixSender } from "./notify.js";
import type { TcpBinder } from "./ports.js";

export interface ServiceNative extends TcpBinder {
  unixSend: UnixSender;
}

/** The native calls, or undefined when this build has none. Only called when the service starts. */
export async function loadServiceNative(): Promise<ServiceNative | undefined> {
  return undefined;
}
