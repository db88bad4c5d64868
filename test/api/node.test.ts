// The Node host from the sources: the core found in build/core, a real NETLINK_USERSOCK socket
// bound in this namespace (no daemon needed).

import { afterEach, describe, expect, it } from "vitest";
import type { PortMapperClient } from "../../src/api/client.js";
import { IwpmError } from "../../src/core/errors.js";
import { openPortMapperClient } from "../../src/node.js";

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
    expect((err as IwpmError).message).toContain("another socket holds this port");
  });

  it("refuses bad options with INVALID_ARGUMENT", async () => {
    for (const options of [{ protocol: 16 }, { port: -1 }, { timeoutMs: 0 }, { abiVersion: 5 }, { init: [64] }]) {
      const err = await openPortMapperClient(options as never).catch((e: unknown) => e);
      expect(err, JSON.stringify(options)).toBeInstanceOf(IwpmError);
      expect((err as IwpmError).code).toBe("INVALID_ARGUMENT");
    }
  });
});
