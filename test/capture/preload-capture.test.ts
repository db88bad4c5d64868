// The preload library's recording mode (IWPM_CAPTURE) against the real iwpmd: one header per
// file however many runs append to it, every datagram both ways, a foreign file left alone, and
// IWPM_CAPTURE_ONLY keeping the real NETLINK_RDMA socket. Root only; skipped otherwise.

import { randomInt } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { readCapture } from "../../src/capture/pcap.js";
import { decodeRecords, loadDecoderCore } from "../../src/replay/decode.js";
import { loadDaemonCore } from "../../src/replay/peer-engine.js";
import { buildTimeline } from "../../src/replay/state.js";
import { coreModule, daemonCoreModule } from "../support/core.js";
import { type Iwpmd, startIwpmd } from "../support/iwpmd.js";
import { canUseNamespaces, createNamespace, type Netns, type NsProcess, runInNamespace } from "../support/netns.js";
import { attrFixedStr, attrU16, attrU32, hex, nlmsg, rdma } from "../support/nl.js";

const RAW_CLIENT = fileURLToPath(new URL("../interop/fixtures/raw-client.mjs", import.meta.url));
const support = canUseNamespaces();
if (!support.ok) console.warn(`[capture/preload-capture] skipped: ${support.reason}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const clientPort = () => 0x50000000 + randomInt(0, 0x0fffffff);

async function decode(file: string, side?: "client" | "daemon") {
  const x = await loadDecoderCore(coreModule());
  // A daemon-side capture replays on a daemon core instance too.
  await loadDaemonCore(daemonCoreModule());
  const { records, summary } = readCapture(new Uint8Array(readFileSync(file)));
  return { ...decodeRecords(x, records, side ? { side } : {}), summary };
}

async function waitFor(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe.skipIf(!support.ok)("iwpmd preload recording mode", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "iwpm-preload-cap-"));
  const namespaces: Netns[] = [];
  const daemons: Iwpmd[] = [];
  const clients: NsProcess[] = [];
  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.close()));
    await Promise.allSettled(daemons.splice(0).map((d) => d.stop()));
    await Promise.allSettled(namespaces.splice(0).map((n) => n.destroy()));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function ns(): Promise<Netns> {
    const n = await createNamespace("iwpm-pcap");
    namespaces.push(n);
    return n;
  }

  it("records sends and receives; a second run appends to the same file under the one header", { timeout: 30_000 }, async () => {
    const file = path.join(dir, "appended.pcap");
    const n = await ns();
    const P = clientPort();
    const client = runInNamespace(n, RAW_CLIENT, [String(P)]);
    clients.push(client);
    await client.next((l) => l.ready === true);

    for (let run = 0; run < 2; run++) {
      const d = await startIwpmd(n, { clientPort: P, env: { IWPM_CAPTURE: file } });
      daemons.push(d);
      // HELLO in, answered as the kernel would; then the MAPINFO request comes and a REG_PID
      // (unicast to the daemon) gets its reply.
      await client.next((l) => typeof l.hex === "string" && (l.hex as string).slice(8, 12) === "0808" && l.port === d.port);
      const hello = nlmsg({ type: rdma(2, 8), seq: 50 + run, pid: P }, [attrU16(1, 4)]);
      client.send({ hex: hex(hello), port: d.port, groups: 0 });
      await client.next((l) => typeof l.hex === "string" && (l.hex as string).slice(8, 12) === "0608");
      const reg = nlmsg({ type: rdma(2, 0), seq: 60 + run, pid: P }, [
        attrU32(1, 0),
        attrFixedStr(2, "lo", 16),
        attrFixedStr(3, "siw0", 32),
        attrFixedStr(4, "iWarpPortMapperUser", 32),
      ]);
      client.send({ hex: hex(reg), port: d.port, groups: 0 });
      await client.next((l) => typeof l.hex === "string" && (l.hex as string).slice(8, 12) === "0008" && l.port === d.port);
      await d.stop();
    }

    const { messages, stats, summary } = await decode(file);
    expect(summary).toMatchObject({ format: "pcap", linkTypes: [253], trailingBytes: 0 });
    expect(stats).toMatchObject({ invalid: 0, side: "daemon", sideInferred: true });
    const seen = messages.map((m) => m.label);
    expect(seen).toEqual([
      "HELLO",
      "HELLO reply",
      "MAPINFO request",
      "REG_PID request",
      "REG_PID reply",
      "HELLO",
      "HELLO reply",
      "MAPINFO request",
      "REG_PID request",
      "REG_PID reply",
    ]);
    // received datagrams carry their sender's port, sent ones their destination
    const m0 = messages[1];
    expect(m0?.proto === "netlink" && m0.captured === "in" && m0.port).toBe(P);
    const end = buildTimeline(messages).final();
    expect(end.daemon.pid).toBe(daemons[1]?.pid);
    expect(end.anomalies.map((a) => a.kind)).toEqual(["daemon-restart"]);
    expect(end.pending).toEqual([]);
    // exactly one file header
    const bytes = readFileSync(file);
    expect(bytes.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(bytes.indexOf(Buffer.from([0xd4, 0xc3, 0xb2, 0xa1]), 4)).toBe(-1);
  });

  it("leaves a file that is not a netlink pcap alone, and iwpmd runs on", { timeout: 30_000 }, async () => {
    const file = path.join(dir, "notes.txt");
    writeFileSync(file, "not a capture, keep me\n");
    const n = await ns();
    const d = await startIwpmd(n, { clientPort: clientPort(), env: { IWPM_CAPTURE: file } });
    daemons.push(d);
    await waitFor(() => d.log().includes("not recording"), "the refusal");
    expect(d.log()).toContain("not a little-endian pcap");
    await sleep(200);
    expect(readFileSync(file, "utf8")).toBe("not a capture, keep me\n");
  });

  it("IWPM_CAPTURE_ONLY keeps the NETLINK_RDMA socket (no user-space stand-in)", { timeout: 30_000 }, async () => {
    const file = path.join(dir, "only.pcap");
    const n = await ns();
    let rdma = true;
    try {
      // On a host without RDMA netlink iwpmd cannot open its socket and exits; with it, iwpmd
      // talks to the kernel and never binds a NETLINK_USERSOCK port, which startIwpmd waits for.
      const d = await startIwpmd(n, {
        clientPort: clientPort(),
        env: { IWPM_CAPTURE: file, IWPM_CAPTURE_ONLY: "1" },
        startTimeoutMs: 1500,
      });
      daemons.push(d);
    } catch (err) {
      rdma = !/exited/.test(String(err));
    }
    expect(statSync(file).size).toBeGreaterThanOrEqual(24);
    if (!rdma) expect(statSync(file).size).toBe(24); // the header, and iwpmd never got to send
  });
});
