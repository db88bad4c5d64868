// The Node host from the sources: the core found in build/core, a real NETLINK_USERSOCK socket
// bound in this namespace (no daemon needed), and the send-failure report carrying its datagram.

import { afterEach, describe, expect, it, vi } from "vitest";
import type { PortMapperClient } from "../../src/api/client.js";
import { IwpmError } from "../../src/core/errors.js";
import { Errno } from "../../src/host/errno.js";
import { type NodeNetlinkSocket, openNetlinkSocket, type SentDatagram } from "../../src/host/netlink-node.js";
import { openPortMapperClient } from "../../src/host/node.js";

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
});

/** A port nobody binds: process ids stay far below it. */
const unboundPort = () => 0x7f000000 + Math.floor(Math.random() * 0xffffff);

describe("openPortMapperClient", () => {
  it("opens a client on its own netlink port with the core from build/core", async () => {
    const client: PortMapperClient = await openPortMapperClient({ timeoutMs: 500 });
    opened.push(client);
    expect(client.port).toBeGreaterThan(0);
    expect(client.validPid()).toBe(false);
    expect(client.registration()).toBe("UNDEF");
    await expect(client.addMapping("127.0.0.1:5555")).rejects.toMatchObject({ code: "DAEMON_UNAVAILABLE" });
    await client.close();
    expect(client.isClosed).toBe(true);
  });

  it("binds the port asked for, and refuses one already taken", async () => {
    const port = unboundPort();
    const client = await openPortMapperClient({ port, init: [2, 3] });
    opened.push(client);
    expect(client.port).toBe(port);
    expect(client.registration(3)).toBe("UNDEF");
    const err = await openPortMapperClient({ port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IwpmError);
    expect((err as IwpmError).message).toContain("another socket may hold that port");
  });

  it("refuses bad options with INVALID_ARGUMENT", async () => {
    for (const options of [{ protocol: 16 }, { port: -1 }, { timeoutMs: 0 }, { abiVersion: 5 }, { init: [64] }]) {
      const err = await openPortMapperClient(options as never).catch((e: unknown) => e);
      expect(err, JSON.stringify(options)).toBeInstanceOf(IwpmError);
      expect((err as IwpmError).code).toBe("INVALID_ARGUMENT");
    }
  });
});

describe("NodeNetlinkSocket send errors", () => {
  it("report the datagram that failed with its destination", async () => {
    const failures: { errno: number; datagram: SentDatagram }[] = [];
    const socket: NodeNetlinkSocket = openNetlinkSocket({
      onReadable: () => {},
      onSendError: (_err, errno, datagram) => failures.push({ errno, datagram }),
    });
    opened.push(socket);
    const bytes = new Uint8Array([16, 0, 0, 0, 1, 8, 1, 0, 42, 0, 0, 0, 0, 0, 0, 0]);
    const port = unboundPort();
    expect(socket.sendTo(bytes, port, 0)).toBe(Errno.SUCCESS);
    bytes.fill(0); // the socket keeps its own copy
    await vi.waitFor(() => expect(failures).toHaveLength(1));
    expect(failures[0]?.errno).toBe(Errno.ECONNREFUSED);
    expect(failures[0]?.datagram.port).toBe(port);
    expect(failures[0]?.datagram.groups).toBe(0);
    expect([...(failures[0]?.datagram.bytes ?? [])]).toEqual([16, 0, 0, 0, 1, 8, 1, 0, 42, 0, 0, 0, 0, 0, 0, 0]);
  });
});
