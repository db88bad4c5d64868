// The one client opener (src/api/open.ts) over a fake host: what it asks the socket factory for,
// how it reports a factory that fails, and what it does with the host's /proc/net/netlink. The
// real hosts' failures are compared in test/interop/deno.test.ts.

import { afterEach, describe, expect, it } from "vitest";
import type { PortMapperClient } from "../../src/api/client.js";
import { type ClientHost, DEFAULT_RECV_BUFFER, type HostSocket, openClient, type SocketRequest } from "../../src/api/open.js";
import { IwpmError } from "../../src/core/errors.js";
import { coreModule, FakeSocket } from "../support/core.js";
import { DEV } from "./harness.js";

const OWN_PORT = 4321;

/** A fake socket handle as a host's factory returns it. */
class FakeHostSocket extends FakeSocket {
  readonly port = OWN_PORT;
  closed = false;
  refs: string[] = [];
  close(): void {
    this.closed = true;
  }
  ref(): void {
    this.refs.push("ref");
  }
  unref(): void {
    this.refs.push("unref");
  }
}

/** A fake host: records the request, opens a FakeHostSocket unless told to throw. */
function fakeHost(opts: { fail?: unknown; table?: string } = {}) {
  const requests: SocketRequest[] = [];
  const sockets: FakeHostSocket[] = [];
  const host: ClientHost = {
    coreModule: async (wasm) => (wasm !== undefined ? WebAssembly.compile(wasm) : coreModule()),
    openSocket: (request): HostSocket => {
      requests.push(request);
      if (opts.fail !== undefined) throw opts.fail;
      const s = new FakeHostSocket();
      sockets.push(s);
      return s;
    },
    netlinkTable: () => opts.table,
  };
  return { host, requests, sockets };
}

const opened: PortMapperClient[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

async function open(host: ClientHost, options: Parameters<typeof openClient>[1] = {}) {
  const client = await openClient(host, options);
  opened.push(client);
  return client;
}

/** /proc/net/netlink with our own socket and, when `daemonGroups`, a port mapper's. */
function table(daemonGroups?: number): string {
  const header = "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode";
  const row = (pid: number, groups: number) =>
    `0000000000000000 2   ${pid}       ${groups.toString(16).padStart(8, "0")} 0        0        0     2        0        1`;
  return [header, row(OWN_PORT, 0), ...(daemonGroups !== undefined ? [row(999, daemonGroups)] : []), ""].join("\n");
}

describe("openClient", () => {
  it("asks the host's factory for the checked target and the default receive buffer", async () => {
    const { host, requests, sockets } = fakeHost();
    const client = await open(host, { protocol: 20, port: 77 });
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ protocol: 20, port: 77, recvBufferSize: DEFAULT_RECV_BUFFER });
    expect(client.port).toBe(OWN_PORT);
    client.unref().ref();
    expect(sockets[0]?.refs).toEqual(["unref", "ref"]);
    await client.close();
    expect(sockets[0]?.closed).toBe(true);
  });

  it("refuses a bad target before any socket is asked for", async () => {
    const { host, requests } = fakeHost();
    await expect(open(host, { protocol: 3 as 2 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(open(host, { port: -1 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(requests).toEqual([]);
  });

  it("passes a factory's IwpmError through unchanged", async () => {
    const err = new IwpmError("NATIVE_UNAVAILABLE", "no sockets here");
    await expect(open(fakeHost({ fail: err }).host)).rejects.toBe(err);
  });

  it("reports anything else a factory throws as SOCKET_ERROR, with what to check and the cause", async () => {
    const cause = new Error("something odd");
    const failure = await open(fakeHost({ fail: cause }).host, { port: 5 }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(IwpmError);
    expect(failure).toMatchObject({ code: "SOCKET_ERROR", cause });
    expect((failure as IwpmError).message).toMatch(/protocol 2, port 5\): something odd; another socket may hold that port/);
  });

  it("reports the socket's own failures as SOCKET_ERROR error events", async () => {
    const { host, requests } = fakeHost();
    const client = await open(host);
    const errors: Error[] = [];
    client.on("error", (e) => errors.push(e));
    requests[0]?.onError("the poll loop failed");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: "SOCKET_ERROR" });
    expect(errors[0]?.message).toMatch(/the poll loop failed/);
    expect(client.stats().hostErrors).toBe(1);
  });

  it("reads the host's /proc/net/netlink: with nobody in the port mappers' group registerPid fails at once", async () => {
    const client = await open(fakeHost({ table: table() }).host);
    await expect(client.registerPid(DEV)).rejects.toMatchObject({ code: "DAEMON_UNAVAILABLE" });
  });

  it("sends REG_PID when a port mapper has joined the group", async () => {
    const { host, sockets } = fakeHost({ table: table(1 << 1) });
    const client = await open(host);
    const pending = client.registerPid(DEV, { timeoutMs: 1 });
    expect(sockets[0]?.sent.map((d) => d.groups)).toEqual([1 << 1]);
    await expect(pending).rejects.toMatchObject({ code: "TIMEOUT" });
  });
});
