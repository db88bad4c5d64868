// `iwpm dissector > iwpm.lua` in Debian's tshark 4.0: on captures of the real iwpmd (its own
// netlink recordings under the preload library, and dumpcap on the daemons' UDP 3935 exchange
// between two namespaces) and on the demo's capture, tshark shows, field by field, what
// `iwpm decode --json` shows, and display filters select the right frames.

import { type ChildProcess, execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { netlinkPseudoHeader, PcapWriter } from "../../src/capture/pcap.js";
import { attrField, peerIpField } from "../../src/cli/dissector.js";
import { ATTRS, type Dir, PEER } from "../../src/gen/protocol.js";
import { ensureBuilt, randomClientPort, startAgent } from "../support/agent.js";
import { allShapes, DIR_TO_DAEMON, nonCanonicalMessage, Rng } from "../support/corpus.js";
import { startDumpcap, stopProcess } from "../support/dumpcap.js";
import { type Iwpmd, startIwpmd } from "../support/iwpmd.js";
import { canUseNamespaces, createNamespace, findExecutable, linkNamespaces, type Netns, runInNamespace } from "../support/netns.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = path.join(ROOT, "build", "dist", "cli.js");
const WASM = path.join(ROOT, "build", "core", "iwpm.wasm");
const CAPTURE_AGENT = fileURLToPath(new URL("../capture/fixtures/capture-agent.mjs", import.meta.url));
const tshark = findExecutable("tshark");
const dumpcap = findExecutable("dumpcap");
const support = canUseNamespaces();
if (!tshark) console.warn("[cli/dissector] skipped: tshark not found (apt-get install tshark)");
else if (!support.ok) console.warn(`[cli/dissector] captures of the real iwpmd skipped: ${support.reason}`);

const dir = mkdtempSync(path.join(tmpdir(), "iwpm-dissector-"));
const asRoot = process.getuid?.() === 0;
const lua = path.join(dir, "iwpm.lua");

type Json = Record<string, unknown> & { record: number; proto: string };

/** `iwpm decode --json FILE`, one object per message. */
function decodeJson(file: string, ...options: string[]): Json[] {
  const out = execFileSync(process.execPath, [CLI, "decode", "--json", ...options, file], { encoding: "utf8", maxBuffer: 1 << 28 });
  return out
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Json);
}

/** tshark with the dissector, two passes (so requests know their reply): one row per frame, every occurrence of each field. */
function tsharkFields(file: string, fields: string[], filter?: string, options: string[] = []): Map<number, Map<string, string[]>> {
  const args = [...options, "-X", `lua_script:${lua}`, "-2", "-r", file, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"];
  args.push("-e", "frame.number");
  for (const f of fields) args.push("-e", f);
  if (filter !== undefined) args.push("-Y", filter);
  // An unprivileged tshark, as whoever opens a capture someone else made.
  const [cmd, argv] = asRoot
    ? ["setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", tshark as string, ...args]]
    : [tshark as string, args];
  // Its own home: root's profile directory is not readable to nobody.
  const r = spawnSync(cmd, argv, { encoding: "utf8", maxBuffer: 1 << 28, env: { ...process.env, HOME: dir } });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).not.toMatch(/Lua: Error|error|malformed/i);
  const rows = new Map<number, Map<string, string[]>>();
  for (const line of r.stdout.split("\n")) {
    if (line === "") continue;
    const [frame, ...values] = line.split("\t");
    rows.set(
      Number(frame),
      new Map(fields.map((f, i) => [f, values[i] === undefined || values[i] === "" ? [] : (values[i] as string).split("|")])),
    );
  }
  return rows;
}

const hex4 = (n: unknown) => `0x${(n as number).toString(16).padStart(4, "0")}`;

const HEADER_FIELDS = [
  "iwpm.len",
  "iwpm.type",
  "iwpm.flags",
  "iwpm.seq",
  "iwpm.pid",
  "iwpm.client",
  "iwpm.op",
  "iwpm.direction",
  "iwpm.label",
];
const ATTR_FIELDS = [...new Set(ATTRS.flatMap((ops) => ops.flatMap((specs) => (specs ?? []).map((s) => attrField(s.kernel)))))];

/** What tshark must show for one netlink message of the decoder, field by field. */
function expectedNetlink(m: Json, into: Map<string, string[]>): void {
  const push = (field: string, value: unknown) => {
    if (value === undefined) return;
    into.set(field, [...(into.get(field) ?? []), String(value)]);
  };
  push("iwpm.len", m.len);
  push("iwpm.type", hex4(m.type));
  push("iwpm.flags", hex4(m.flags));
  push("iwpm.seq", m.seq);
  push("iwpm.pid", m.pid);
  push("iwpm.label", m.label);
  if (m.kind !== "iwpm") return;
  push("iwpm.client", m.client);
  push("iwpm.op", m.op);
  push("iwpm.direction", m.dir);
  const specs = ATTRS[m.dir as Dir]?.[m.op as number] ?? [];
  const attrs = m.attrs as Record<string, unknown>;
  for (const span of m.attrSpans as { id: number; name: string }[]) {
    const spec = specs[span.id - 1];
    if (span.name === "" || spec === undefined) continue;
    push(attrField(spec.kernel), attrs[spec.name]);
  }
}

/** What tshark must show for one peer message of the decoder. */
function expectedPeer(m: Json, into: Map<string, string[]>): void {
  const set = (field: string, value: unknown) => {
    if (value !== undefined) into.set(field, [...(into.get(field) ?? []), String(value)]);
  };
  set("iwpm_peer.version", m.version);
  set("iwpm_peer.type", m.type);
  set("iwpm_peer.ipver", m.ipVersion);
  for (const f of PEER.fields) {
    if (!("field" in f)) continue;
    if (f.kind === "ip") set(peerIpField(f.name, m.ipVersion === 6 ? 6 : 4), m[f.field]);
    else set(`iwpm_peer.${f.name}`, m[f.field]);
  }
}

const PEER_FIELDS = [
  "iwpm_peer.version",
  "iwpm_peer.type",
  "iwpm_peer.ipver",
  ...PEER.fields.flatMap((f) =>
    f.kind === "ip" ? [peerIpField(f.name, 4), peerIpField(f.name, 6)] : f.kind === "magic" ? [] : [`iwpm_peer.${f.name}`],
  ),
];

/** Compares the decoder's messages with tshark's fields frame by frame; returns the decoded messages. */
function compareCapture(file: string): Json[] {
  const messages = decodeJson(file);
  const fields = [...HEADER_FIELDS, ...ATTR_FIELDS, ...PEER_FIELDS];
  const rows = tsharkFields(file, fields);
  const expected = new Map<number, Map<string, string[]>>();
  for (const m of messages) {
    const frame = m.record + 1;
    const into = expected.get(frame) ?? new Map<string, string[]>();
    expected.set(frame, into);
    if (m.proto === "peer") expectedPeer(m, into);
    else expectedNetlink(m, into);
  }
  expect(expected.size).toBeGreaterThan(0);
  for (const [frame, want] of expected) {
    const got = rows.get(frame);
    expect(got, `frame ${frame} missing from tshark's output`).toBeDefined();
    for (const f of fields) expect(got?.get(f) ?? [], `${path.basename(file)} frame ${frame} ${f}`).toEqual(want.get(f) ?? []);
  }
  return messages;
}

/** Frame numbers a display filter selects. */
function framesMatching(file: string, filter: string): number[] {
  return [...tsharkFields(file, [], filter).keys()];
}
const framesOf = (ms: Json[], pick: (m: Json) => boolean) => [...new Set(ms.filter(pick).map((m) => m.record + 1))];

describe.skipIf(!tshark)("the Wireshark dissector", () => {
  beforeAll(() => {
    ensureBuilt();
    writeFileSync(lua, execFileSync(process.execPath, [CLI, "dissector"], { encoding: "utf8" }));
    execFileSync("chmod", ["755", dir]);
  });
  afterAll(() => {
    if (!process.env.IWPM_KEEP_CAPTURES) rmSync(dir, { recursive: true, force: true });
    else console.log(`captures kept in ${dir}`);
  });

  it("names every op and attribute of the demo's capture as the decoder does, and links requests to replies", () => {
    const capture = path.join(dir, "demo.pcap");
    execFileSync(process.execPath, [CLI, "demo", "--udp-port", String(20000 + Math.floor(Math.random() * 20000)), "--capture", capture], {
      cwd: dir,
      encoding: "utf8",
    });
    const messages = compareCapture(capture);
    expect(framesMatching(capture, "iwpm.op == 2")).toEqual(framesOf(messages, (m) => m.op === 2));
    expect(framesMatching(capture, "iwpm.direction == 0 && iwpm.op == 1")).toEqual(
      framesOf(messages, (m) => m.op === 1 && m.direction === "to_daemon"),
    );
    // Each ADD_MAPPING request names the frame of its reply, and the reply the request's.
    const links = tsharkFields(capture, ["iwpm.response_in", "iwpm.response_to"], "iwpm.op == 1");
    const requests = messages.filter((m) => m.op === 1 && m.direction === "to_daemon");
    expect(requests.length).toBeGreaterThan(0);
    for (const req of requests) {
      const reply = messages.find(
        (m) => m.op === 1 && m.direction === "to_client" && (m.attrs as { requestSeq: number }).requestSeq === req.seq,
      );
      expect(reply).toBeDefined();
      expect(links.get(req.record + 1)?.get("iwpm.response_in")).toEqual([String((reply?.record ?? 0) + 1)]);
      expect(links.get((reply?.record ?? 0) + 1)?.get("iwpm.response_to")).toEqual([String(req.record + 1)]);
    }
  });

  it("malformed messages: no Lua error, and each is judged with the core's status (tshark run unprivileged)", () => {
    // Valid messages of every shape with one damage each: an attribute cut short or over its
    // end, one left out, a name without its NUL, a zero nla_len.
    const rng = new Rng(0xbad_c0de);
    const capture = path.join(dir, "malformed.pcap");
    const chunks: Uint8Array[] = [];
    const writer = new PcapWriter((b) => chunks.push(b.slice()));
    let second = 1_800_000_000;
    const damages = new Map<string, number>();
    for (let round = 0; round < 12; round++) {
      for (const shape of allShapes()) {
        const m = nonCanonicalMessage(rng, shape);
        const bytes = m.bytes.slice();
        const v = new DataView(bytes.buffer);
        const known = m.placed.filter((p) => p.role !== "unknown");
        const target = rng.pick(known);
        const damage = rng.pick(["short", "over", "drop", "nul", "zero"] as const);
        damages.set(damage, (damages.get(damage) ?? 0) + 1);
        let out = bytes;
        if (damage === "short") v.setUint16(target.offset, 4 + rng.int(0, 1), true);
        else if (damage === "over") v.setUint16(target.offset, bytes.length - target.offset + 1 + rng.int(0, 8), true);
        else if (damage === "zero") v.setUint16(target.offset, 0, true);
        else if (damage === "nul" && (target.kind === "cstr" || target.kind === "fstr16" || target.kind === "fstr32")) {
          bytes[target.offset + target.length - 1] = 0x78;
        } else {
          // Drop every copy of the target's id.
          const kept = m.placed.filter((p) => p.id !== target.id || p.role === "unknown");
          const parts = kept.map((p) => bytes.subarray(p.offset, p.offset + ((p.length + 3) & ~3)));
          out = new Uint8Array(16 + parts.reduce((n, p) => n + p.length, 0));
          out.set(bytes.subarray(0, 16));
          let at = 16;
          for (const p of parts) {
            out.set(p, at);
            at += p.length;
          }
          new DataView(out.buffer).setUint32(0, out.length, true);
        }
        const direction = shape.dir === DIR_TO_DAEMON ? "out" : "in";
        writer.writePacket({ sec: second++, nsec: 0 }, [netlinkPseudoHeader({ direction }), out]);
      }
    }
    writeFileSync(capture, Buffer.concat(chunks));
    expect(damages.size).toBe(5);
    const messages = decodeJson(capture, "--side", "client");
    expect(messages.filter((m) => m.status !== 0).length).toBeGreaterThan(messages.length / 2);
    const verbose = spawnSync(tshark as string, ["-o", "iwpm.side:client", "-X", `lua_script:${lua}`, "-2", "-V", "-r", capture], {
      encoding: "utf8",
      maxBuffer: 1 << 28,
    });
    expect(verbose.stdout).not.toContain("Lua Error");
    expect(verbose.stdout.split("\n").filter((l) => l.includes("[Expert Info (Error/Malformed)")).length).toBe(
      messages.filter((m) => m.status !== 0).length,
    );
    const rows = tsharkFields(capture, ["iwpm.status", "iwpm.direction"], undefined, ["-o", "iwpm.side:client"]);
    for (const m of messages) {
      const got = rows.get(m.record + 1);
      const what = `frame ${m.record + 1} ${m.label}`;
      expect(got?.get("iwpm.status"), what).toEqual(m.status === 0 ? [] : [m.statusName]);
      expect(got?.get("iwpm.direction"), what).toEqual([String(m.dir)]);
    }
  });

  it("prints `iwpm dissector --help` and refuses a bad port", () => {
    expect(execFileSync(process.execPath, [CLI, "dissector", "--help"], { encoding: "utf8" })).toContain("lua_script:iwpm.lua");
    const r = spawnSync(process.execPath, [CLI, "dissector", "--udp-port", "70000"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--udp-port");
  });

  describe.skipIf(!support.ok)("on captures of the real iwpmd (two namespaces)", () => {
    const files = {
      clientA: path.join(dir, "client-a.pcap"),
      daemonA: path.join(dir, "iwpmd-a.pcap"),
      daemonB: path.join(dir, "iwpmd-b.pcap"),
      peer: path.join(dir, "peer.pcapng"),
    };
    const namespaces: Netns[] = [];
    const daemons: Iwpmd[] = [];
    const agents: { close(): Promise<void> }[] = [];
    let capture: ChildProcess | undefined;
    let bundle = "";

    beforeAll(async () => {
      // A's client records its own traffic: the capturing client, run from a bundle of
      // src/capture/node.ts beside build/native, so the bundle finds the socket addon where the package's bundles do.
      mkdirSync(path.join(ROOT, "build", "test-artifacts"), { recursive: true });
      bundle = path.join(ROOT, "build", "test-artifacts", `capture-node-lua-${process.pid}.mjs`);
      await build({
        entryPoints: [path.join(ROOT, "src/capture/node.ts")],
        outfile: bundle,
        bundle: true,
        format: "esm",
        platform: "node",
        target: "node20",
        logLevel: "warning",
      });
      const a = await createNamespace("iwpm-lua-a");
      const b = await createNamespace("iwpm-lua-b");
      namespaces.push(a, b);
      const link = await linkNamespaces(a, b);
      if (dumpcap) capture = await startDumpcap(a, dumpcap, { iface: link.devA, port: PEER.port, file: files.peer });
      const portA = randomClientPort();
      const portB = randomClientPort();
      // A's client binds first, so it sees iwpmd's HELLO and answers it.
      const clientA = runInNamespace(a, CAPTURE_AGENT, [bundle, String(portA), files.clientA, WASM], { timeoutMs: 30_000 });
      agents.push(clientA);
      await clientA.next((l) => l.ready === true, 15_000);
      daemons.push(await startIwpmd(a, { clientPort: portA, env: { IWPM_CAPTURE: files.daemonA } }));
      daemons.push(await startIwpmd(b, { clientPort: portB, env: { IWPM_CAPTURE: files.daemonB } }));
      const agentB = await startAgent(b, portB, { timeoutMs: 15_000 });
      agents.push(agentB);
      await clientA.next((l) => l.event === "mapinfoRequest", 10_000);
      let id = 0;
      const attempt = async (call: string, ...args: unknown[]) => {
        const n = ++id;
        clientA.send({ id: n, call, args });
        return (await clientA.next((l) => l.id === n && typeof l.ok === "boolean", 30_000)) as { ok: boolean };
      };
      const agentA = {
        attempt,
        call: async (call: string, ...args: unknown[]) => expect((await attempt(call, ...args)).ok, call).toBe(true),
      };
      const dev = { devName: "siw0", ifName: "lo" };
      await agentA.call("registerPid", dev);
      await agentB.call("registerPid", dev);
      await agentB.call("addMapping", { address: "10.77.0.2", port: 7000 });
      await agentB.call("addMapping", { address: "fd77::2", port: 7000 });
      await agentA.call("addMapping", { address: "10.77.0.1", port: 5555 });
      await agentA.call("addAndQueryMapping", { address: "10.77.0.1", port: 6000 }, { address: "10.77.0.2", port: 7000 });
      await agentA.call("addAndQueryMapping", { address: "fd77::1", port: 6000 }, { address: "fd77::2", port: 7000 });
      // No listener on B at :7999: B's daemon rejects, A's answers the query with IWPM_REMOTE_QUERY_REJECT.
      const rejected = await agentA.attempt(
        "addAndQueryMapping",
        { address: "10.77.0.1", port: 6001 },
        { address: "10.77.0.2", port: 7999 },
      );
      expect(rejected.ok).toBe(false);
      await agentA.call("removeMapping", { address: "10.77.0.1", port: 5555 });
      await agentB.nextEvent("remoteInfo", undefined, 15_000);
      await new Promise((r) => setTimeout(r, 500));
      await Promise.allSettled(agents.map((x) => x.close()));
      await Promise.allSettled(daemons.map((d) => d.stop()));
      if (capture) await stopProcess(capture);
      // dumpcap writes its file for root only; the tshark that reads it runs as nobody.
      for (const file of Object.values(files)) if (existsSync(file)) chmodSync(file, 0o644);
    }, 120_000);

    afterAll(async () => {
      await Promise.allSettled([...agents.map((x) => x.close()), ...daemons.map((d) => d.stop())]);
      if (capture) await stopProcess(capture);
      await Promise.allSettled(namespaces.map((n) => n.destroy()));
      if (bundle) rmSync(bundle, { force: true });
    });

    it("the client's own recording: every field as the decoder shows it, requests linked to replies", () => {
      const messages = compareCapture(files.clientA);
      const labels = new Set(messages.map((m) => m.label));
      for (const l of [
        "HELLO",
        "HELLO reply",
        "MAPINFO request",
        "REG_PID request",
        "REG_PID reply",
        "QUERY_MAPPING reply",
        "REMOVE_MAPPING",
      ]) {
        expect(labels, l).toContain(l);
      }
      const links = tsharkFields(files.clientA, ["iwpm.response_in"], "iwpm.op == 2 && iwpm.direction == 0");
      const queries = messages.filter((m) => m.op === 2 && m.direction === "to_daemon");
      expect(queries.length).toBe(3);
      for (const q of queries) {
        const reply = messages.find(
          (m) => m.op === 2 && m.direction === "to_client" && (m.attrs as { requestSeq: number }).requestSeq === q.seq,
        );
        expect(links.get(q.record + 1)?.get("iwpm.response_in"), `query in frame ${q.record + 1}`).toEqual([
          String((reply?.record ?? -2) + 1),
        ]);
      }
    });

    it("iwpmd's own recordings: every field as the decoder shows it; filters and expert info select the right frames", () => {
      for (const file of [files.daemonA, files.daemonB]) {
        const messages = compareCapture(file);
        expect(messages.every((m) => m.status === 0 || m.proto === "peer")).toBe(true);
        expect(framesMatching(file, "iwpm.op == 2")).toEqual(framesOf(messages, (m) => m.op === 2));
        expect(framesMatching(file, "iwpm.nla.manage_addr")).toEqual(
          framesOf(messages, (m) => m.direction === "to_daemon" && (m.op === 1 || m.op === 3)),
        );
      }
      const a = decodeJson(files.daemonA);
      const rejectedReplies = framesOf(a, (m) => m.op === 2 && m.direction === "to_client" && (m.attrs as { err: number }).err === 16);
      expect(rejectedReplies).toHaveLength(1);
      expect(framesMatching(files.daemonA, "iwpm.nla.rquery_mapping_err == 16")).toEqual(rejectedReplies);
      expect(framesMatching(files.daemonA, "iwpm.expert.error_code")).toEqual(rejectedReplies);
      const b = decodeJson(files.daemonB);
      expect(framesMatching(files.daemonB, "iwpm.op == 4")).toEqual(framesOf(b, (m) => m.label === "REMOTE_INFO"));
    });

    it.skipIf(!dumpcap)("the daemons' UDP exchange: every peer field as the decoder shows it", () => {
      const messages = compareCapture(files.peer);
      const types = messages.map((m) => m.typeName);
      expect(types).toContain("REQUEST");
      expect(types).toContain("ACCEPT");
      expect(types).toContain("REJECT");
      expect(messages.some((m) => m.ipVersion === 6)).toBe(true);
      expect(framesMatching(files.peer, "iwpm_peer.type == 3")).toEqual(framesOf(messages, (m) => m.typeName === "REJECT"));
      expect(framesMatching(files.peer, "iwpm_peer.cpipaddr6 == fd77::1")).toEqual(framesOf(messages, (m) => m.cpIp === "fd77::1"));
    });
  });
});
