import { describe, expect, it } from "vitest";
import { loadTestCore } from "../support/core.js";
import { FakeDaemon, v4 } from "../support/fake-daemon.js";
import { NLMSG_DONE, parseDatagram } from "../support/nl.js";

// A restarted daemon refuses one resent MAPINFO record: iwpmd answers HANDLE_ERR with the
// record's own header seq and stops reading that datagram, so the records behind it are lost
// unless sent again (fake socket; the real iwpmd is in test/interop/restart.test.ts).

const OP_MAPINFO = 0x806;
const IWPM_CREATE_MAPPING_ERR = 11;

interface Record {
  seq: number;
  localPort: number;
}

function records(bytes: Uint8Array): Record[] {
  const msgs = parseDatagram(bytes);
  expect(msgs.at(-1)?.type).toBe(NLMSG_DONE);
  return msgs.slice(0, -1).map((m) => {
    expect(m.type).toBe(OP_MAPINFO);
    const local = m.attrs.get(1) as Uint8Array;
    return { seq: m.seq, localPort: new DataView(local.buffer, local.byteOffset + 2).getUint16(0, false) };
  });
}

async function resent(n: number) {
  const t = await loadTestCore();
  const daemon = new FakeDaemon(1234);
  t.core.exports.init(2);
  t.core.exports.setPort(4321);
  for (let i = 0; i < n; i++) {
    t.core.writeAddr(0, v4("10.0.0.1", 1000 + i));
    t.core.writeAddr(1, v4("10.0.0.1", 30000 + i));
    expect(t.core.exports.createMapinfo(2, 0)).toBe(0);
  }
  t.core.feed(daemon.mapinfoRequest(4), daemon.port);
  t.core.drainEvents();
  const sent = t.socket.take();
  sent.pop(); // MAPINFO_NUM
  return { ...t, daemon, datagrams: sent.map((d) => records(d.bytes)) };
}

describe("a refused MAPINFO record", () => {
  it("is named by its seq, and the records iwpmd did not read behind it are sent again", async () => {
    const t = await resent(40);
    expect(t.datagrams.length).toBeGreaterThan(1);
    const first = t.datagrams[0] as Record[];
    const k = 3;
    const refused = first[k] as Record;
    t.core.feed(t.daemon.handleErr(refused.seq, IWPM_CREATE_MAPPING_ERR), t.daemon.port);
    const events = t.core.drainEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      kind: "mapinfoRefused",
      nlClient: 2,
      code: IWPM_CREATE_MAPPING_ERR,
      local: { family: "ipv4", address: "10.0.0.1", port: refused.localPort },
      mapped: { family: "ipv4", address: "10.0.0.1", port: refused.localPort - 1000 + 30000 },
      resent: first.length - k - 1,
      resendStatus: 0,
      port: t.daemon.port,
    });
    const again = t.socket.take().flatMap((d) => records(d.bytes));
    expect(again.map((r) => r.localPort)).toEqual(first.slice(k + 1).map((r) => r.localPort));
    // New numbers: a refusal of one of them names it, not the earlier send.
    const before = new Set(t.datagrams.flat().map((r) => r.seq));
    for (const r of again) expect(before.has(r.seq)).toBe(false);
    expect(t.core.stats().drops).toEqual({});

    // One of the records sent again is refused in turn: only those behind it go once more.
    const second = again[2] as Record;
    t.core.feed(t.daemon.handleErr(second.seq, IWPM_CREATE_MAPPING_ERR), t.daemon.port);
    expect(t.core.drainEvents()).toMatchObject([{ kind: "mapinfoRefused", local: { port: second.localPort }, resent: again.length - 3 }]);
    expect(
      t.socket
        .take()
        .flatMap((d) => records(d.bytes))
        .map((r) => r.localPort),
    ).toEqual(again.slice(3).map((r) => r.localPort));
  });

  it("sends nothing again when the refused record was the last of its datagram", async () => {
    const t = await resent(40);
    const first = t.datagrams[0] as Record[];
    t.core.feed(t.daemon.handleErr((first.at(-1) as Record).seq, IWPM_CREATE_MAPPING_ERR), t.daemon.port);
    expect(t.core.drainEvents()).toMatchObject([{ kind: "mapinfoRefused", resent: 0 }]);
    expect(t.socket.take()).toEqual([]);
  });

  it("counts a second HANDLE_ERR for the same record as unmatched", async () => {
    const t = await resent(5);
    const r = (t.datagrams[0] as Record[])[1] as Record;
    t.core.feed(t.daemon.handleErr(r.seq, IWPM_CREATE_MAPPING_ERR), t.daemon.port);
    expect(t.core.drainEvents()).toMatchObject([{ kind: "mapinfoRefused" }]);
    t.socket.take();
    t.core.exports.resetStats();
    t.core.feed(t.daemon.handleErr(r.seq, IWPM_CREATE_MAPPING_ERR), t.daemon.port);
    expect(t.core.drainEvents()).toEqual([]);
    expect(t.core.stats().dropped).toBe(1);
  });
});
