// Captures of real traffic, decoded and replayed: two hosts (namespaces joined by a veth pair),
// an iwpmd in each recording its netlink traffic (the preload library's IWPM_CAPTURE mode), a
// PortMapperClient on A recording its own (openCapturingPortMapperClient), the standard agent
// on B, and dumpcap on A recording the daemons' UDP 3935 exchange (pcapng on the veth, and pcap
// on "any", i.e. Linux cooked headers). Root only; skipped with the reason otherwise.

import { type ChildProcess, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCapture } from "../../src/capture/pcap.js";
import { type CaptureMessage, decodeRecords, loadDecoderCore, type NetlinkMessage } from "../../src/replay/decode.js";
import { loadDaemonCore } from "../../src/replay/peer-engine.js";
import { buildTimeline } from "../../src/replay/state.js";
import { type Agent, ensureBuilt, randomClientPort, startAgent } from "../support/agent.js";
import { coreModule, daemonCoreModule } from "../support/core.js";
import { startDumpcap, stopProcess } from "../support/dumpcap.js";
import { type Iwpmd, startIwpmd } from "../support/iwpmd.js";
import {
  canUseNamespaces,
  createNamespace,
  findExecutable,
  type JsonLine,
  linkNamespaces,
  type Netns,
  type NsProcess,
  runInNamespace,
} from "../support/netns.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FIXTURE = fileURLToPath(new URL("./fixtures/capture-agent.mjs", import.meta.url));
const WASM = path.join(ROOT, "build", "core", "iwpm.wasm");

const support = canUseNamespaces();
const dumpcap = findExecutable("dumpcap");
const tshark = findExecutable("tshark");
if (!support.ok) console.warn(`[capture/interop] skipped: ${support.reason}`);
else if (!dumpcap) console.warn("[capture/interop] peer-wire capture skipped: dumpcap not found (apt-get install tshark)");

async function decodeFile(file: string) {
  const x = await loadDecoderCore(coreModule());
  await loadDaemonCore(daemonCoreModule());
  const { records } = readCapture(new Uint8Array(readFileSync(file)));
  return decodeRecords(x, records);
}

const netlinkOnly = (ms: CaptureMessage[]) => ms.filter((m): m is NetlinkMessage => m.proto === "netlink");
const labelSeq = (ms: NetlinkMessage[]) =>
  ms
    .filter((m) => !m.echo)
    .map((m) => `${m.label} ${m.seq}`)
    .sort();

let callId = 0;
async function call<T = unknown>(
  proc: NsProcess,
  name: string,
  ...args: unknown[]
): Promise<{ ok: boolean; value: T; code?: string; status?: number }> {
  const id = ++callId;
  proc.send({ id, call: name, args });
  const reply = await proc.next((l: JsonLine) => l.id === id && typeof l.ok === "boolean", 30_000);
  return reply as unknown as { ok: boolean; value: T; code?: string; status?: number };
}

describe.skipIf(!support.ok)("captures of a real two-host run", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "iwpm-capture-"));
  const files = {
    clientA: path.join(dir, "client-a.pcap"),
    daemonA: path.join(dir, "iwpmd-a.pcap"),
    daemonB: path.join(dir, "iwpmd-b.pcap"),
    peerEth: path.join(dir, "peer-veth.pcapng"),
    peerAny: path.join(dir, "peer-any.pcap"),
  };
  const namespaces: Netns[] = [];
  const daemons: Iwpmd[] = [];
  let agentB: Agent | undefined;
  let clientA: NsProcess | undefined;
  const captures: ChildProcess[] = [];
  let bundle = "";
  const results: { mappedB?: { port: number }; mappedB6?: { port: number }; rejected?: { ok: boolean; code?: string } } = {};

  beforeAll(async () => {
    ensureBuilt();
    // The client side runs from a bundle of src/capture/node.ts; it sits beside build/native so the
    // bundle finds the socket addon where the package's own bundles do (../native/).
    mkdirSync(path.join(ROOT, "build", "test-artifacts"), { recursive: true });
    bundle = path.join(ROOT, "build", "test-artifacts", `capture-node-${process.pid}.mjs`);
    await build({
      entryPoints: [path.join(ROOT, "src/capture/node.ts")],
      outfile: bundle,
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      logLevel: "warning",
    });

    const a = await createNamespace("iwpm-cap-a");
    const b = await createNamespace("iwpm-cap-b");
    namespaces.push(a, b);
    const link = await linkNamespaces(a, b);
    if (dumpcap) {
      captures.push(await startDumpcap(a, dumpcap as string, { iface: link.devA, port: 3935, file: files.peerEth }));
      // the "any" device, written as classic pcap
      captures.push(await startDumpcap(a, dumpcap as string, { iface: "any", port: 3935, file: files.peerAny, pcap: true }));
    }
    const portA = randomClientPort();
    const portB = randomClientPort();
    // A's client binds first, so it sees iwpmd's HELLO.
    clientA = runInNamespace(a, FIXTURE, [bundle, String(portA), files.clientA, WASM], { timeoutMs: 30_000 });
    await clientA.next((l) => l.ready === true, 15_000);
    daemons.push(await startIwpmd(a, { clientPort: portA, env: { IWPM_CAPTURE: files.daemonA } }));
    daemons.push(await startIwpmd(b, { clientPort: portB, env: { IWPM_CAPTURE: files.daemonB } }));
    agentB = await startAgent(b, portB, { timeoutMs: 15_000 });
    await clientA.next((l) => l.event === "mapinfoRequest", 10_000);

    const dev = { devName: "siw0", ifName: "lo" };
    expect((await call(clientA, "registerPid", dev)).ok).toBe(true);
    await agentB.call("registerPid", dev);
    results.mappedB = (
      await agentB.call<{ mappedLocal: { port: number } }>("addMapping", { address: "10.77.0.2", port: 7000 })
    ).mappedLocal;
    results.mappedB6 = (await agentB.call<{ mappedLocal: { port: number } }>("addMapping", { address: "fd77::2", port: 7000 })).mappedLocal;
    expect((await call(clientA, "addMapping", { address: "10.77.0.1", port: 5555 })).ok).toBe(true);
    expect((await call(clientA, "addAndQueryMapping", { address: "10.77.0.1", port: 6000 }, { address: "10.77.0.2", port: 7000 })).ok).toBe(
      true,
    );
    expect((await call(clientA, "addAndQueryMapping", { address: "fd77::1", port: 6000 }, { address: "fd77::2", port: 7000 })).ok).toBe(
      true,
    );
    results.rejected = await call(
      clientA,
      "addAndQueryMapping",
      { address: "10.77.0.1", port: 6001 },
      { address: "10.77.0.2", port: 7999 },
    );
    await call(clientA, "removeMapping", { address: "10.77.0.1", port: 5555 });
    await agentB.nextEvent("remoteInfo", undefined, 15_000);
    // Let the last ACKs cross the wire, then stop everything so every file is complete.
    await new Promise((r) => setTimeout(r, 500));
    await clientA.close();
    await agentB.close();
    await Promise.allSettled(daemons.map((d) => d.stop()));
    for (const c of captures) await stopProcess(c);
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled([clientA?.close(), agentB?.close(), ...daemons.map((d) => d.stop()), ...captures.map(stopProcess)]);
    await Promise.allSettled(namespaces.map((n) => n.destroy()));
    if (!process.env.IWPM_KEEP_CAPTURES) rmSync(dir, { recursive: true, force: true });
    else console.log(`captures kept in ${dir}`);
    if (bundle) rmSync(bundle, { force: true });
  });

  it("a capture from the real iwpmd interop run decodes with no unknown message (client side)", async () => {
    const { messages, stats } = await decodeFile(files.clientA);
    expect(stats.invalid, JSON.stringify(stats.invalidByStatus)).toBe(0);
    expect(stats).toMatchObject({ side: "client", sideInferred: true, peerMessages: 0 });
    const labels = new Set(messages.map((m) => m.label));
    for (const l of [
      "HELLO",
      "HELLO reply",
      "MAPINFO request",
      "REG_PID request",
      "REG_PID reply",
      "ADD_MAPPING request",
      "ADD_MAPPING reply",
      "QUERY_MAPPING request",
      "QUERY_MAPPING reply",
      "REMOVE_MAPPING",
    ]) {
      expect(labels, l).toContain(l);
    }
    const tl = buildTimeline(messages);
    const end = tl.final();
    expect(end.daemon.pid).toBe(daemons[0]?.pid);
    expect(end.daemon.version).toBe(4);
    expect(end.pending).toEqual([]);
    // the two accepted queries stay mapped; the ADD of :5555 was removed
    expect(end.mappings.map((m) => m.local).sort()).toEqual(["10.77.0.1:6000", "[fd77::1]:6000"]);
    expect(end.mappings.find((m) => m.local === "10.77.0.1:6000")?.mappedRemote).toBe(`10.77.0.2:${results.mappedB?.port}`);
    expect(end.anomalies.map((a) => a.kind)).toEqual(["query-rejected"]);
    expect(results.rejected).toMatchObject({ ok: false, code: "REMOTE_REJECTED" });
  });

  it("iwpmd's own recordings decode too, and A's matches its client's message for message", async () => {
    const a = await decodeFile(files.daemonA);
    const b = await decodeFile(files.daemonB);
    for (const d of [a, b]) {
      expect(d.stats.invalid, JSON.stringify(d.stats.invalidByStatus)).toBe(0);
      expect(d.stats).toMatchObject({ side: "daemon", sideInferred: true });
    }
    const client = await decodeFile(files.clientA);
    expect(labelSeq(netlinkOnly(a.messages))).toEqual(labelSeq(netlinkOnly(client.messages)));
    // B's daemon told its client who was coming, once per accepted query
    expect(b.messages.filter((m) => m.label === "REMOTE_INFO")).toHaveLength(2);
    const tlB = buildTimeline(b.messages).final();
    expect(tlB.remoteInfo.map((r) => r.mappedLocal).sort()).toEqual(
      [`10.77.0.2:${results.mappedB?.port}`, `[fd77::2]:${results.mappedB6?.port}`].sort(),
    );
  });

  it.skipIf(!dumpcap)("the daemons' UDP exchange decodes from a dumpcap capture (Ethernet pcapng and cooked pcap)", async () => {
    for (const file of [files.peerEth, files.peerAny]) {
      const { messages, stats } = await decodeFile(file);
      expect(stats.netlinkMessages).toBe(0);
      const peer = messages.filter((m) => m.proto === "peer");
      const types = peer.map((m) => m.label);
      // IPv4 and IPv6 queries accepted and acknowledged, one rejected
      expect(types.filter((t) => t === "peer ACCEPT").length, file).toBeGreaterThanOrEqual(2);
      expect(types.filter((t) => t === "peer ACK").length).toBeGreaterThanOrEqual(2);
      expect(types).toContain("peer REJECT");
      expect(peer.some((m) => m.proto === "peer" && m.ipVersion === 6)).toBe(true);
      for (const m of peer) if (m.proto === "peer") expect(m.wire.problem).toBeUndefined();
      const accept = peer.find((m) => m.proto === "peer" && m.wire.typeName === "ACCEPT" && m.ipVersion === 4);
      expect(accept?.proto === "peer" && accept.wire.apport).toBe(results.mappedB?.port);
      const tl = buildTimeline(messages);
      const end = tl.final();
      expect(tl.peer.length).toBe(3);
      expect(end.peerOpen).toEqual([]);
      expect(end.anomalies.map((a) => a.kind)).toEqual(["peer-reject"]);
    }
  });

  it.skipIf(!tshark)("tshark reads the netlink recordings of both sides", () => {
    for (const file of [files.clientA, files.daemonA, files.daemonB]) {
      const r = spawnSync(tshark as string, ["-r", file, "-T", "fields", "-e", "netlink.hdr_type"], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/error|damaged|malformed/i);
      expect(r.stdout).toContain("0x0801");
    }
  });
});
