// The page lists messages from a headers-only decode (worker.ts): every field a row shows before
// its summary arrives (code, label, direction, client, seq, pid, status, position in the frame)
// and the file's statistics must be what the full decode gives, on valid, malformed, multi-part,
// echoed, v3 and v4 messages, captured from either side.

import { beforeAll, describe, expect, it } from "vitest";
import { CaptureReader, NetlinkPcapWriter } from "../../src/capture/pcap.js";
import type { CoreExports } from "../../src/core/core.js";
import { CaptureDecoder, type CaptureMessage, loadDecoderCore } from "../../src/replay/decode.js";
import { makeScenario } from "../replay/scenario.js";
import { coreModule } from "../support/core.js";
import { allShapes, type GeneratedMessage, Rng, randomDone, randomError, randomMessage } from "../support/corpus.js";

let x: CoreExports;
beforeAll(async () => {
  x = await loadDecoderCore(coreModule());
});

/** Every message of `pcap`, decoded in full or by headers only, and the decoder's statistics. */
function decodeAll(pcap: Uint8Array, headersOnly: boolean) {
  const messages: CaptureMessage[] = [];
  const dec = new CaptureDecoder(x, { headersOnly, onMessage: (m) => messages.push(m) });
  const reader = new CaptureReader((r) => dec.record(r));
  reader.push(pcap);
  reader.end();
  return { messages, stats: dec.finish() };
}

/** What a listed row is made of, before its summary. */
function listed(m: CaptureMessage) {
  const { attrs, attrSpans, unknownAttrs, errorOffset, errorAttr, bytes, ...rest } = m as CaptureMessage & Record<string, unknown>;
  return rest;
}

/** Datagrams of 1–3 random messages of every shape, DONE and ERROR among them, some cut or damaged. */
function randomCapture(seed: number, datagrams: number): Uint8Array {
  const rng = new Rng(seed);
  const chunks: Uint8Array[] = [];
  const w = new NetlinkPcapWriter((b) => chunks.push(b));
  const shapes = allShapes();
  for (let i = 0; i < datagrams; i++) {
    const parts: Uint8Array[] = [];
    for (let k = rng.int(1, 3); k > 0; k--) {
      const r = rng.int(0, 19);
      const g: GeneratedMessage =
        r === 0
          ? randomDone(rng, rng.pick([0, 1]), rng.chance(0.5))
          : r === 1
            ? randomError(rng, rng.pick([0, 1]), rng.chance(0.5))
            : randomMessage(rng, rng.pick(shapes));
      const bytes = g.bytes.slice();
      // A damaged attribute length or a cut message: the decode's status must agree too.
      if (rng.chance(0.05) && bytes.length > 20) bytes[16] = rng.int(0, 255);
      parts.push(rng.chance(0.03) ? bytes.subarray(0, rng.int(1, bytes.length - 1)) : bytes);
    }
    const total = parts.reduce((n, p) => n + p.length, 0);
    const datagram = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      datagram.set(p, at);
      at += p.length;
    }
    w.write(
      { sec: 1_800_000_000 + i, nsec: rng.int(0, 999_999) * 1000 },
      { direction: rng.pick(["in", "out"] as const), port: rng.next() },
      datagram,
    );
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

describe("the headers-only decode the page lists messages with", () => {
  const cases: [string, () => Promise<Uint8Array>][] = [
    ["a replayed scenario", async () => (await makeScenario()).pcap],
    ...[1, 2, 3].map((seed): [string, () => Promise<Uint8Array>] => [
      `random datagrams, seed ${seed}`,
      async () => randomCapture(seed, 3000),
    ]),
  ];
  it.each(cases)("gives every listed field and the statistics the full decode gives: %s", async (_, make) => {
    const pcap = await make();
    const full = decodeAll(pcap, false);
    const lite = decodeAll(pcap, true);
    expect(lite.stats).toEqual(full.stats);
    expect(lite.messages.map(listed)).toEqual(full.messages.map(listed));
    // and it is lighter: the attribute values of valid messages are left out
    const withAttrs = (ms: CaptureMessage[]) => ms.filter((m) => m.proto === "netlink" && Object.keys(m.attrs).length > 0).length;
    expect(withAttrs(full.messages)).toBeGreaterThan(0);
    expect(withAttrs(lite.messages)).toBeLessThan(withAttrs(full.messages));
  });

  it("covers what the random captures are for: both versions, malformed and multi-part messages, echoes", () => {
    const { messages } = decodeAll(randomCapture(1, 3000), false);
    const nl = messages.flatMap((m) => (m.proto === "netlink" ? [m] : []));
    expect(new Set(nl.map((m) => m.version).filter((v) => v !== undefined))).toEqual(new Set([3, 4]));
    expect(nl.filter((m) => m.status !== 0).length).toBeGreaterThan(50);
    expect(nl.filter((m) => m.parts > 1).length).toBeGreaterThan(100);
    expect(nl.filter((m) => m.echo).length).toBeGreaterThan(0);
    expect(new Set(nl.map((m) => m.kind))).toEqual(new Set(["iwpm", "done", "error", "invalid", "control"]));
  });
});
