// The Node host: a real netlink socket (src/host/netlink-node.ts) under the portable client.

import type { PortMapperClient } from "../api/client.js";
import { DEFAULT_RECV_BUFFER, netlinkTarget, type OpenClientOptions, openClient, socketOpenHint } from "../api/open.js";
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
  return openClient(await coreModule(options.wasm), options, ({ onReadable, onSendError, hostError }) => {
    try {
      return openNetlinkSocket({
        protocol,
        port,
        recvBufferSize: options.recvBufferSize ?? DEFAULT_RECV_BUFFER,
        onReadable,
        onSendError,
        onRecvError: (err, errno) =>
          hostError(
            new IwpmError(
              "SOCKET_ERROR",
              `receiving from the netlink socket failed: ${err.message}; datagrams may have been lost (raise recvBufferSize or net.core.rmem_max)`,
              { wasiErrno: errno, syscall: "recvfrom" },
            ),
          ),
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new IwpmError(
        "SOCKET_ERROR",
        `cannot open a netlink socket (protocol ${protocol}, port ${port}): ${e.code ?? ""} ${e.message}; ${socketOpenHint(protocol, port)}`,
      );
    }
  });
}
