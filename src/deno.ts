// The package's Deno entry: the portable client over a netlink socket opened through libc
// (src/host/netlink-deno.ts). Needs `--allow-ffi` (the socket) and `--allow-read` (iwpm.wasm, unless
// options.wasm is given); the sources' `.js` specifiers need `--sloppy-imports` (deno.json sets it).

import { PortMapperClient, type PortMapperClientOptions } from "./api/client.js";
import { NETLINK_USERSOCK } from "./api/constants.js";
import type { HostClientOptions } from "./api/index.js";
import { instantiateCore } from "./core/core.js";
import { IwpmError } from "./core/errors.js";
import { type DenoNetlinkSocket, denoRuntime, NetlinkError, openNetlinkSocketDeno, wasiErrnoFromLinux } from "./host/netlink-deno.js";
import { createShim, SocketMap } from "./host/shim.js";

export * from "./api/index.js";

/** The options of the Node entry's openPortMapperClient, with the same meaning. */
export type OpenPortMapperClientOptions = HostClientOptions;

const SOCKET_FD = 3;
const DEFAULT_RECV_BUFFER = 4 * 1024 * 1024;

// From the sources (src/deno.ts) the core is the build output; next to a bundle it is ./iwpm.wasm.
const WASM_CANDIDATES = ["../build/core/iwpm.wasm", "./iwpm.wasm"];

let compiled: Promise<WebAssembly.Module> | undefined;

async function loadCore(): Promise<WebAssembly.Module> {
  const deno = denoRuntime();
  const tried: string[] = [];
  for (const candidate of WASM_CANDIDATES) {
    const url = new URL(candidate, import.meta.url);
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = await deno.readFile(url);
    } catch (err) {
      // Deno names its errors by class: NotFound, NotCapable (no --allow-read), …
      const name = err instanceof Error ? err.name : String(err);
      tried.push(`${url.pathname} (${name === "NotCapable" ? "NotCapable: run Deno with --allow-read" : name})`);
      continue;
    }
    return WebAssembly.compile(bytes);
  }
  throw new IwpmError(
    "INTERNAL",
    `the iwpm core (iwpm.wasm) could not be read; tried ${tried.join(", ")}; run \`npm run build\` or pass the bytes as options.wasm`,
  );
}

function coreModule(): Promise<WebAssembly.Module> {
  compiled ??= loadCore().catch((err: unknown) => {
    compiled = undefined;
    throw err;
  });
  return compiled;
}

/**
 * Opens a netlink socket and a port mapper client on it. The socket joins no multicast group:
 * the client multicasts REG_PID to the port mappers and must not receive its own request.
 */
export async function openPortMapperClient(options: OpenPortMapperClientOptions = {}): Promise<PortMapperClient> {
  const protocol = options.protocol ?? NETLINK_USERSOCK;
  if (protocol !== 2 && protocol !== 20) {
    throw new IwpmError("INVALID_ARGUMENT", `protocol ${String(protocol)} is neither 2 (NETLINK_USERSOCK) nor 20 (NETLINK_RDMA)`);
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 0xffff_ffff) {
    throw new IwpmError("INVALID_ARGUMENT", `port ${String(port)} is not a netlink port id of 0..4294967295`);
  }
  const module = options.wasm !== undefined ? await WebAssembly.compile(options.wasm) : await coreModule();

  let client: PortMapperClient | undefined;
  const early: unknown[] = [];
  const hostError = (err: unknown) => {
    if (client !== undefined) client.handleHostError(err);
    else early.push(err);
  };
  const sockets = new SocketMap();
  const shim = createShim({ sockets, onHostError: hostError });
  const core = await instantiateCore(module, shim);

  let socket: DenoNetlinkSocket;
  try {
    socket = openNetlinkSocketDeno({
      protocol,
      port,
      recvBufferSize: options.recvBufferSize ?? DEFAULT_RECV_BUFFER,
      onReadable: () => client?.handleReadable(),
      onSendError: (_err, errno, datagram) => client?.handleSendError(datagram, errno),
      onRecvError: (err) => hostError(err),
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // Without --allow-ffi, Deno.dlopen throws NotCapable, whose message names the flag.
    if (!(err instanceof NetlinkError)) {
      throw new IwpmError("SEND_FAILED", `cannot open a netlink socket through libc: ${message}`);
    }
    throw new IwpmError(
      "SEND_FAILED",
      `cannot open a netlink socket (protocol ${protocol}, port ${port}): ${message}; ` +
        (port !== 0 ? "another socket may hold that port, or " : "") +
        (protocol === 20 ? "NETLINK_RDMA needs the rdma modules and CAP_NET_ADMIN" : "check the process may open netlink sockets"),
      undefined,
      undefined,
      wasiErrnoFromLinux(err.errno),
    );
  }
  sockets.set(SOCKET_FD, socket);

  const clientOptions: PortMapperClientOptions = { fd: SOCKET_FD };
  if (options.timeoutMs !== undefined) clientOptions.timeoutMs = options.timeoutMs;
  if (options.abiVersion !== undefined) clientOptions.abiVersion = options.abiVersion;
  if (options.remoteInfoLimit !== undefined) clientOptions.remoteInfoLimit = options.remoteInfoLimit;
  if (options.init !== undefined) clientOptions.init = options.init;
  try {
    client = new PortMapperClient(
      core,
      {
        socket,
        port: socket.port,
        close: () => socket.close(),
        ref: () => socket.ref(),
        unref: () => socket.unref(),
      },
      clientOptions,
    );
  } catch (err) {
    socket.close();
    throw err;
  }
  for (const err of early) client.handleHostError(err);
  return client;
}
