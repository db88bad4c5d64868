import { beforeAll, describe, expect, it } from "vitest";
import { readCapture } from "../../src/capture/pcap.js";
import { type CaptureMessage, decodeRecords, loadDecoderCore } from "../../src/replay/decode.js";
import { compileFilter, FilterError, type FilterSubject } from "../../src/replay/filter.js";
import { loadDaemonCore } from "../../src/replay/peer-engine.js";
import { buildTimeline } from "../../src/replay/state.js";
import { seedCaptures } from "../capture/seeds.js";
import { coreModule, daemonCoreModule } from "../support/core.js";
import { makeScenario } from "./scenario.js";

// The scenario (test/replay/scenario.ts), decoded by the core: 25 messages in 24 frames.
let subjects: FilterSubject[];
let peer: FilterSubject[];

function subjectsOf(messages: CaptureMessage[], file: string): FilterSubject[] {
  const kinds = new Map<number, string[]>();
  for (const a of buildTimeline(messages).anomalies) kinds.set(a.index, [...(kinds.get(a.index) ?? []), a.kind]);
  return messages.map((m) => ({
    m,
    frame: m.record + 1,
    msg: m.proto === "netlink" ? m.part + 1 : 1,
    file,
    time: m.time,
    anomalies: kinds.get(m.index) ?? [],
  }));
}

beforeAll(async () => {
  const x = await loadDecoderCore(coreModule());
  await loadDaemonCore(daemonCoreModule());
  const pcap = (await makeScenario()).pcap;
  subjects = subjectsOf(decodeRecords(x, readCapture(pcap).records).messages, "a.pcap");
  const ipv6 = seedCaptures(pcap).find((s) => s.name === "Ethernet IPv6 pcap µs");
  peer = subjectsOf(decodeRecords(x, readCapture(ipv6?.bytes as Uint8Array).records).messages, "b.pcap");
});

/** Frame numbers ("18.2" for a second message in a frame) the filter keeps. */
function frames(expr: string, list = subjects): string[] {
  const f = compileFilter(expr);
  return list.filter((s) => f.test(s)).map((s) => (s.m.proto === "netlink" && s.m.parts > 1 ? `${s.frame}.${s.msg}` : String(s.frame)));
}

describe("the filter language", () => {
  it("selects by op name (any case) or number, and by direction", () => {
    expect(frames("op == ADD_MAPPING")).toEqual(["6", "7", "11", "14", "23"]);
    expect(frames("op == add_mapping && dir == to_client")).toEqual(["7", "14"]);
    expect(frames("op == 1 && dir == to_daemon")).toEqual(["6", "11", "23"]);
    expect(frames("op == NLMSG_DONE")).toEqual(["18.2"]);
    expect(frames("op == HELLO")).toEqual(["1", "2", "15", "16"]);
  });

  it("seq matches the header and the sequence number a reply answers; client, pid, frame, msg", () => {
    expect(frames("seq == 102")).toEqual(["6", "7"]);
    expect(frames("pid == 2345 && op == MAPINFO_NUM")).toEqual(["20"]);
    expect(frames("client == 2 && frame >= 18 && frame < 20")).toEqual(["18.1", "19"]);
    expect(frames("msg == 2")).toEqual(["18.2"]);
    expect(frames("frame == 18")).toEqual(["18.1", "18.2"]);
  });

  it("addresses: an IP alone or with its port, any address of the message; ports", () => {
    expect(frames("addr == 10.0.0.2")).toEqual(["8", "9"]);
    expect(frames("addr == 10.0.0.2:47000")).toEqual(["9"]);
    expect(frames("addr == 10.0.0.2:1")).toEqual([]);
    expect(frames("port == 40000")).toEqual(["7", "10", "18.1"]);
    expect(frames("addr == fd77::2 && port == 6000", peer)).toEqual(["1", "2", "3"]);
    expect(frames("addr == [fd77::1]:5555 && op == REQUEST", peer)).toEqual(["1"]);
  });

  it("errors, flags, anomalies; && binds tighter than ||; ! and parentheses", () => {
    expect(frames("err")).toEqual(["12"]);
    expect(frames("err == IWPM_DUPLICATE_MAPPING_ERR")).toEqual(["12"]);
    expect(frames("err == 12")).toEqual(["12"]);
    expect(frames("flags & 0x2")).toEqual(["18.1", "18.2"]);
    expect(frames("mapflags == 1")).toEqual(["8"]);
    expect(frames("anomaly == stray-response")).toEqual(["14"]);
    expect(frames("anomaly == unanswered")).toEqual(["23"]);
    expect(frames("err || op == REMOVE_MAPPING && dir == to_daemon")).toEqual(["12", "13"]);
    expect(frames("(err || op == REMOVE_MAPPING) && !(frame > 12)")).toEqual(["12"]);
    expect(frames("not op == HELLO and frame <= 3")).toEqual(["3"]);
    expect(frames("op != HELLO && frame le 3")).toEqual(["3"]);
    expect(frames("peer")).toEqual([]);
    expect(frames("peer && op == ACCEPT", peer)).toEqual(["2"]);
    expect(compileFilter("anomaly").usesAnomalies).toBe(true);
    expect(compileFilter("op == 1").usesAnomalies).toBe(false);
  });

  it("refuses a bad expression with the position of the fault", () => {
    const cases: [string, number, RegExp][] = [
      ["op == ADD_MAPPING && (dir == to_client", 38, /expected "\)" to close the "\(" at position 22/],
      ["opp == 1", 0, /unknown field "opp"; fields: op, dir/],
      ["op == ADD", 6, /"ADD" is not a value of op/],
      ["seq == abc", 7, /"abc" is not a number/],
      ["seq ==", 6, /expected a value after "=="/],
      ["seq == 1 seq == 2", 9, /expected && or \|\| before "seq"/],
      ["op == HELLO &&", 14, /ends where a test was expected/],
      ["invalid == 1", 8, /yes\/no field/],
      ["op == $", 6, /unexpected "\$"/],
      ['file == "a.pcap', 8, /no closing quote/],
      ["dir & 1", 4, /"&" tests bits of a number field/],
    ];
    for (const [expr, position, message] of cases) {
      let error: unknown;
      try {
        compileFilter(expr);
      } catch (err) {
        error = err;
      }
      expect(error, expr).toBeInstanceOf(FilterError);
      expect(error, expr).toMatchObject({ code: "BAD_FILTER", position });
      expect((error as Error).message, expr).toMatch(message);
      expect((error as Error).message, expr).toContain(`(at position ${position + 1})`);
    }
  });
});
