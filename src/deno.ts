// The package's Deno entry: the portable client over a netlink socket opened through libc
// (src/host/netlink-deno.ts). Needs `--allow-ffi` (the socket) and `--allow-read` (iwpm.wasm, unless
// options.wasm is given); the sources' `.js` specifiers need `--sloppy-imports` (deno.json sets it).

import type { PortMapperClient } from "./api/client.js";
import type { HostClientOptions } from "./api/index.js";
import { type ClientHost, openClient, socketOpenHint } from "./api/open.js";
import { findCoreModule } from "./core/core-files.js";
import { IwpmError } from "./core/errors.js";
import { wasiErrnoFromLinux } from "./core/linux-errno.js";
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

const denoHost: ClientHost = {
  coreModule: (wasm) => (wasm !== undefined ? WebAssembly.compile(wasm) : findCoreModule("client", readDeno)),
  openSocket: (request) => {
    try {
      return openNetlinkSocketDeno({
        ...request,
        onError: (err) => request.onError(`the poll loop failed (${err.message}); the socket receives nothing more, open a new client`),
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // Without --allow-ffi Deno.dlopen throws NotCapable, whose message names the flag: this
      // host cannot make sockets at all, as Node without its addon.
      if (!(err instanceof NetlinkError)) {
        throw new IwpmError("NATIVE_UNAVAILABLE", `Deno cannot call libc for a netlink socket: ${message}; run Deno with --allow-ffi`, {
          cause: err,
        });
      }
      throw new IwpmError(
        "SOCKET_ERROR",
        `cannot open a netlink socket (protocol ${request.protocol}, port ${request.port}): ${message}; ${socketOpenHint(request.protocol, request.port)}`,
        { wasiErrno: wasiErrnoFromLinux(err.errno), syscall: err.syscall },
      );
    }
  },
  netlinkTable: procNetlink,
};

/**
 * Opens a netlink socket and a port mapper client on it. The socket joins no multicast group:
 * the client multicasts REG_PID to the port mappers and must not receive its own request.
 */
export function openPortMapperClient(options: OpenPortMapperClientOptions = {}): Promise<PortMapperClient> {
  return openClient(denoHost, options);
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
