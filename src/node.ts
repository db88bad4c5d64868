// The Node host's client opener: the portable opener (src/api/open.ts) over a netlink socket of
// our native addon (src/host/netlink-node.ts). The addon loads only here, when a socket is opened.

import { readFileSync } from "node:fs";
import type { PortMapperClient } from "./api/client.js";
import { type ClientHost, type OpenClientOptions, openClient } from "./api/open.js";
import { openNetlinkSocket } from "./host/netlink-node.js";
import { coreModule } from "./host/wasm-node.js";

export type OpenPortMapperClientOptions = OpenClientOptions;

const nodeHost: ClientHost = {
  coreModule: (wasm) => coreModule("client", wasm),
  // Throws SOCKET_ERROR or NATIVE_UNAVAILABLE itself, saying what to do.
  openSocket: (request) =>
    openNetlinkSocket({
      ...request,
      onError: (name, errno) => request.onError(`poll reported ${name} (errno ${errno}); the client keeps reading`),
    }),
  netlinkTable: () => {
    try {
      return readFileSync("/proc/net/netlink", "utf8");
    } catch {
      return undefined;
    }
  },
};

/**
 * Opens a netlink socket and a port mapper client on it. The socket joins no multicast group:
 * the client multicasts REG_PID to the port mappers and must not receive its own request.
 */
export function openPortMapperClient(options: OpenPortMapperClientOptions = {}): Promise<PortMapperClient> {
  return openClient(nodeHost, options);
}
