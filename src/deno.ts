// The package's Deno entry: the portable client over a netlink socket opened through libc
// (src/host/netlink-deno.ts). Needs `--allow-ffi` (the socket) and `--allow-read` (iwpm.wasm, unless
// options.wasm is given); the sources' `.js` specifiers need `--sloppy-imports` (deno.json sets it).

import type { PortMapperClient } from "./api/client.js";
import { groupHasMember } from "./api/group-members.js";
import type { HostClientOptions } from "./api/index.js";
import { DEFAULT_RECV_BUFFER, netlinkTarget, openClient, socketOpenHint } from "./api/open.js";
import { findCoreModule } from "./core/core-files.js";
import { IwpmError } from "./core/errors.js";
import { wasiErrnoFromLinux } from "./host/linux-errno.js";
import { denoRuntime, NetlinkError, openNetlinkSocketDeno } from "./host/netlink-deno.js";

export * from "./api/index.js";

/** The options of the Node entry's openPortMapperClient, with the same meaning. */
export type OpenPortMapperClientOptions = HostClientOptions;

async function readDeno(url: URL): Promise<Uint8Array<ArrayBuffer> | { why: string }> {
  try {
    return await denoRuntime().readFile(url);
  } catch (err) {
    // Deno names its errors by class: NotFound, NotCapable (no --allow-read), …
    const name = err instanceof Error ? err.name : String(err);
    return { why: name === "NotCapable" ? "NotCapable: run Deno with --allow-read" : name };
  }
}

/**
 * Opens a netlink socket and a port mapper client on it. The socket joins no multicast group:
 * the client multicasts REG_PID to the port mappers and must not receive its own request.
 */
export async function openPortMapperClient(options: OpenPortMapperClientOptions = {}): Promise<PortMapperClient> {
  const { protocol, port } = netlinkTarget(options);
  const module = options.wasm !== undefined ? await WebAssembly.compile(options.wasm) : await findCoreModule("client", readDeno);
  return openClient(module, options, ({ onReadable, onOverrun, hostError }) => {
    try {
      const socket = openNetlinkSocketDeno({
        protocol,
        port,
        recvBufferSize: options.recvBufferSize ?? DEFAULT_RECV_BUFFER,
        onReadable,
        onOverrun,
        onError: (err) => hostError(new IwpmError("SOCKET_ERROR", `the netlink socket stopped receiving: ${err.message}`)),
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
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // Without --allow-ffi, Deno.dlopen throws NotCapable, whose message names the flag.
      if (!(err instanceof NetlinkError)) {
        throw new IwpmError("SEND_FAILED", `cannot open a netlink socket through libc: ${message}`);
      }
      throw new IwpmError(
        "SEND_FAILED",
        `cannot open a netlink socket (protocol ${protocol}, port ${port}): ${message}; ${socketOpenHint(protocol, port)}`,
        { wasiErrno: wasiErrnoFromLinux(err.errno), syscall: err.syscall },
      );
    }
  });
}

/**
 * The netlink sockets of this process's network namespace; undefined without a Linux /proc or
 * when Deno refuses the read (it guards /proc behind --allow-all), so registerPid keeps its timeout.
 */
function procNetlink(): string | undefined {
  try {
    const deno = (globalThis as unknown as { Deno?: { readTextFileSync(path: string): string } }).Deno;
    return deno?.readTextFileSync("/proc/net/netlink");
  } catch {
    return undefined;
  }
}
