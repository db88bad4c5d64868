import { afterEach, describe, expect, it } from "vitest";
import type { ResyncedEvent } from "../../src/api/client.js";
import { FakeDaemon } from "../support/fake-daemon.js";
import { rdma, u32 } from "../support/nl.js";
import { closeClients, DEV, registered } from "./harness.js";

// A restarted port mapper: the client resends its records, registers again by itself with the
// names it last used, and says when both are done (fake transport; the real iwpmd is in
// test/interop/restart.test.ts).

afterEach(closeClients);

const OP_REG_PID = 0;
const OP_MAPINFO = 6;
const OP_MAPINFO_NUM = 7;
const flush = () => new Promise((r) => setTimeout(r, 0));

async function restarted(options: { autoRegister?: boolean } = {}, records = 0) {
  const h = await registered(options);
  for (let i = 0; i < records; i++) h.client.createMapinfo(`127.0.0.1:${1000 + i}`, `127.0.0.1:${30000 + i}`);
  const resynced: ResyncedEvent[] = [];
  h.client.on("resynced", (e) => resynced.push(e));
  h.socket.gone.add(h.daemon.port);
  const second = new FakeDaemon(5678);
  h.deliver(second.hello(4), second.port);
  h.deliver(second.mapinfoRequest(4), second.port);
  await flush();
  return { ...h, second, resynced };
}

describe("after a port mapper restart", () => {
  it("registers again with the last names and emits resynced, also with no records; a mapping call then succeeds", async () => {
    const h = await restarted();
    const msgs = h.sent().flatMap((d) => d.msgs.map((m) => ({ ...m, port: d.port })));
    const reg = msgs.find((m) => m.type === rdma(2, OP_REG_PID));
    expect(reg?.port).toBe(h.second.port);
    expect(new TextDecoder().decode(reg?.attrs.get(3)).replace(/\0+$/, "")).toBe(DEV.devName);
    expect(h.resynced).toEqual([]);
    h.deliver(h.second.regPidReply(reg?.seq as number, DEV.devName), h.second.port);
    await flush();
    expect(h.resynced).toEqual([{ nlClient: 2, port: h.second.port, sent: 0, acked: 0, refused: 0, resent: 0, registered: true }]);
    expect(h.client.registration()).toBe("VALID");
    const p = h.client.addMapping("127.0.0.1:7000");
    const add = h.sentOne();
    expect(add.port).toBe(h.second.port);
    h.deliver(
      h.second.addReply(
        add.msg.seq,
        { family: "ipv4", address: "127.0.0.1", port: 7000 },
        { family: "ipv4", address: "127.0.0.1", port: 47000 },
      ),
      h.second.port,
    );
    await expect(p).resolves.toMatchObject({ mappedLocal: { port: 47000 } });
  });

  it("waits for both the records' ack and the registration", async () => {
    const h = await restarted({}, 3);
    const msgs = h.sent().flatMap((d) => d.msgs);
    expect(msgs.filter((m) => m.type === rdma(2, OP_MAPINFO))).toHaveLength(3);
    const num = msgs.find((m) => m.type === rdma(2, OP_MAPINFO_NUM));
    const reg = msgs.find((m) => m.type === rdma(2, OP_REG_PID));
    expect(u32(num?.attrs.get(2))).toBe(3);
    h.deliver(h.second.regPidReply(reg?.seq as number, DEV.devName), h.second.port);
    await flush();
    expect(h.resynced).toEqual([]);
    h.deliver(h.second.mapinfoAck(num?.seq as number, 3, 3), h.second.port);
    expect(h.resynced).toEqual([{ nlClient: 2, port: h.second.port, sent: 3, acked: 3, refused: 0, resent: 0, registered: true }]);
  });

  it("with autoRegister false, leaves registering to the application and still says when the records are through", async () => {
    const h = await restarted({ autoRegister: false });
    expect(
      h
        .sent()
        .flatMap((d) => d.msgs)
        .filter((m) => m.type === rdma(2, OP_REG_PID)),
    ).toEqual([]);
    expect(h.resynced).toEqual([{ nlClient: 2, port: h.second.port, sent: 0, acked: 0, refused: 0, resent: 0, registered: false }]);
    expect(h.client.registration()).toBe("INCOMPL");
  });
});
