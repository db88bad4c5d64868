// What `iwpm serve` needs from native code and Node lacks: an AF_UNIX datagram sender (sd_notify,
// syslog) and TCP sockets bound without listening (iwpmd's way of holding a mapped port).
// The project's native addon provides both (src/host/native-node.ts); where it cannot load, the
// service logs to a stream, cannot notify systemd, and holds ports with listening sockets.

import type { UnixSender } from "./notify.js";
import type { TcpBinder } from "./ports.js";

export interface ServiceNative extends TcpBinder {
  unixSend: UnixSender;
}

/** The native calls, or undefined where the addon cannot load. Only called when the service starts. */
export async function loadServiceNative(): Promise<ServiceNative | undefined> {
  const { loadNative } = await import("../host/native-node.js");
  try {
    const native = loadNative();
    return { unixSend: (path, data) => native.unixSend(path, data), tcpReserve: native.tcpReserve, fdClose: native.fdClose };
  } catch {
    return undefined;
  }
}
