// The Node host: a real netlink socket of our native addon (src/host/netlink-node.ts) under the
// portable client. The addon loads only here, when a socket is opened.

import { readFileSync } from "node:fs";
import type { PortMapperClient } from "../api/client.js";
import { groupHasMember } from "../api/group-members.js";
import { DEFAULT_RECV_BUFFER, netlinkTarget, type OpenClientOptions, openClient } from "../api/open.js";
import { IwpmError } from "../core/errors.js";
import { openNetlinkSocket } from "./netlink-node.js";
import { coreModule } from "./wasm-node.js";

export type OpenPortMapperClientOptions = OpenClientOptions;

/**
 * Opens a netlink socket and a port mapper client on it. The socket joins no multicast group:
 * the client multicasts REG_PID to the port mappers and must not receive its own request.
 */
export async function openPortMapperClient(options: OpenPortMapperClientOptions = {}): Promise<PortMapperClient> {
  const { protocol, port } = netlinkTarget(options);
  return openClient(await coreModule("client", options.wasm), options, ({ onReadable, onOverrun, hostError }) => {
    const socket = openNetlinkSocket({
      protocol,
      port,
      recvBufferSize: options.recvBufferSize ?? DEFAULT_RECV_BUFFER,
      onReadable,
      onOverrun,
      onError: (name, errno) =>
        hostError(new IwpmError("SOCKET_ERROR", `the netlink socket reported ${name} (errno ${errno}); the client keeps reading`)),
    });
    return {
      socket,
      port: socket.port,
      groupHasMember: (mask: number) => {
        const table = procNetlink();
        return table === undefined ? undefined : groupHasMember(table, protocol, socket.port, mask);
      },
      close: () => socket.close(),
      ref: () => socket.ref(),
      unref: () => socket.unref(),
    };
  });
}

/** The netlink sockets of this process's network namespace; undefined without a Linux /proc. */
function procNetlink(): string | undefined {
  try {
    return readFileSync("/proc/net/netlink", "utf8");
  } catch {
    return undefined;
  }
}
