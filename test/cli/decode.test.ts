// iwpm decode as tshark users expect it: frames from 1, -t, --filter, -x, several files, damaged
// files, a reader that goes away.

import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LINKTYPE_NETLINK, readCapture } from "../../src/capture/pcap.js";
import { EXIT } from "../../src/cli/command.js";
import { main } from "../../src/cli/index.js";
import { decodeRecords, loadDecoderCore } from "../../src/replay/decode.js";
import { toJson } from "../../src/replay/format.js";
import { ngInterface, ngPacket, ngSectionHeader, pcapFile, pcapngFile, seedCaptures } from "../capture/seeds.js";
import { concatChunks, makeScenario } from "../replay/scenario.js";
import { coreModule } from "../support/core.js";
import { findExecutable } from "../support/netns.js";
import { bigCapture } from "../web/big-capture.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUNDLE = path.join(ROOT, "build", "dist", "cli.js");

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(args: string[]): Promise<Run> {
  let out = "";
  let err = "";
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on("data", (c: Buffer) => {
    out += c.toString("utf8");
  });
  stderr.on("data", (c: Buffer) => {
    err += c.toString("utf8");
  });
  const stdin = new PassThrough();
  stdin.end();
  const code = await main(args, { stdout, stderr, stdin });
  await new Promise((r) => setImmediate(r));
  return { code, out, err };
}

const lines = (text: string) => text.trimEnd().split("\n");
const dir = mkdtempSync(path.join(tmpdir(), "iwpm-decode-"));
const file = (name: string) => path.join(dir, name);
let pcap: Uint8Array;

beforeAll(async () => {
  pcap = (await makeScenario()).pcap;
  writeFileSync(file("scenario.pcap"), pcap);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("iwpm decode: frames, time, filter, bytes", () => {
  it("numbers frames from 1, and messages within a frame as FRAME.N", async () => {
    const r = await run(["decode", file("scenario.pcap")]);
    expect(r.code).toBe(EXIT.OK);
    const l = lines(r.out);
    expect(l[0]).toMatch(/^ +1 +0\.000000 +daemon→client +HELLO /);
    expect(l[17]).toMatch(/^ +18\.1 .* MAPINFO record /);
    expect(l[18]).toMatch(/^ +18\.2 .* NLMSG_DONE /);
    expect(l[19]).toMatch(/^ +19 .* MAPINFO_NUM /);
    const j = lines((await run(["decode", "--json", file("scenario.pcap")])).out).map((x) => JSON.parse(x));
    expect(j[0]).toMatchObject({ frame: 1, msg: 1, record: 0, index: 0 });
    expect(j[18]).toMatchObject({ frame: 18, msg: 2, record: 17, index: 18, label: "NLMSG_DONE" });
  });

  it("-t r, d, dd, a, e: relative, deltas (all or shown), absolute UTC, epoch", async () => {
    const records = readCapture(pcap).records;
    const t = (i: number) => records[i]?.time as { sec: number; nsec: number };
    const col = async (args: string[]) =>
      lines((await run(["decode", ...args, file("scenario.pcap")])).out).map((l) => l.trim().split(/\s+/)[1] as string);
    const rel = await col(["-t", "r"]);
    expect(rel[2]).toBe((t(2).sec - t(0).sec + (t(2).nsec - t(0).nsec) / 1e9).toFixed(6));
    const delta = await col(["-t", "d"]);
    expect(delta[2]).toBe((t(2).sec - t(1).sec + (t(2).nsec - t(1).nsec) / 1e9).toFixed(6));
    // dd: from the previous message shown, here frame 1 to frame 3
    const shown = await col(["-t", "dd", "-Y", "frame != 2"]);
    expect(shown[1]).toBe((t(2).sec - t(0).sec + (t(2).nsec - t(0).nsec) / 1e9).toFixed(6));
    const abs = await col(["-t", "a"]);
    expect(abs[0]).toBe(`${new Date(t(0).sec * 1000).toISOString().slice(0, 19)}.${String(t(0).nsec).padStart(9, "0")}Z`);
    expect(await col(["--absolute"])).toEqual(abs);
    const epoch = await col(["-t", "e"]);
    expect(epoch[0]).toBe(`${t(0).sec}.${String(t(0).nsec).padStart(9, "0")}`);
    const bad = await run(["decode", "-t", "x", file("scenario.pcap")]);
    expect(bad.code).toBe(EXIT.USAGE);
    expect(bad.err).toContain('-t takes r, d, dd, a, ad, u, ud or e, not "x"');
  });

  it("--filter / -Y keeps the matching messages; a bad one exits 2 and points at the fault", async () => {
    const r = await run(["decode", "-Y", "op == ADD_MAPPING && dir == to_client", file("scenario.pcap")]);
    expect(lines(r.out).map((l) => l.trim().split(/\s+/)[0])).toEqual(["7", "14"]);
    const a = await run(["decode", "--filter", "anomaly == stray-response || anomaly == unanswered", file("scenario.pcap")]);
    expect(lines(a.out).map((l) => l.trim().split(/\s+/)[0])).toEqual(["14", "23"]);
    const bad = await run(["decode", "-Y", "op == ADD_MAPPING && (dir == to_client", file("scenario.pcap")]);
    expect(bad.code).toBe(EXIT.USAGE);
    expect(bad.out).toBe("");
    expect(bad.err).toBe(
      `iwpm decode: bad --filter: expected ")" to close the "(" at position 22 (at position 39)\n  op == ADD_MAPPING && (dir == to_client\n  ${" ".repeat(38)}^\n`,
    );
  });

  it("-x dumps each message's bytes with the header fields' ranges; with --json a bytes member", async () => {
    const r = await run(["decode", "-x", "-Y", "frame == 1", file("scenario.pcap")]);
    const hello = readCapture(pcap).records[0]?.data.subarray(16) as Uint8Array;
    const hex = Array.from(hello.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join(" ");
    expect(r.out).toContain(`      0000  ${hex}  `);
    expect(r.out).toMatch(new RegExp(`^ +0-3 +nlmsg_len +${hello.length}$`, "m"));
    expect(r.out).toMatch(/^ +12-15 +nlmsg_pid +1234$/m);
    const j = JSON.parse(lines((await run(["decode", "--json", "-x", "-Y", "frame == 1", file("scenario.pcap")])).out)[0] as string);
    expect(j.bytes).toBe(Buffer.from(hello).toString("hex"));
    // a peer message: the UDP payload and the fields of iwpmd's wire layout
    const seed = seedCaptures(pcap).find((x) => x.name === "Ethernet IPv4 pcap µs");
    writeFileSync(file("peer.pcap"), seed?.bytes as Uint8Array);
    const p = await run(["decode", "-x", "-Y", "op == REQUEST", file("peer.pcap")]);
    expect(p.out).toMatch(/^ +0000 {2}04 00 9c 40 17 70 15 b3 {2}00 00 55 66 77 88 99 00 /m);
    expect(p.out).toMatch(/^ +8-15 +assochandle$/m);
    expect(p.out).toMatch(/^ +48-63 +mapped_cpipaddr$/m);
  });
});

describe("iwpm decode: several files", () => {
  it("merges files into one timeline by timestamp, each message tagged with its file", async () => {
    // the scenario, one record a second, split in two: odd records in one file, even in the other
    const records = readCapture(pcap).records.map((r, i) => ({ time: { sec: 1_800_000_000 + i, nsec: i }, data: r.data.slice() }));
    writeFileSync(file("all.pcap"), pcapFile(LINKTYPE_NETLINK, records, true));
    writeFileSync(
      file("odd.pcap"),
      pcapFile(
        LINKTYPE_NETLINK,
        records.filter((_, i) => i % 2 === 1),
        true,
      ),
    );
    writeFileSync(
      file("even.pcapng"),
      pcapngFile(
        LINKTYPE_NETLINK,
        records.filter((_, i) => i % 2 === 0),
        9,
        false,
      ),
    );
    const whole = lines((await run(["decode", "--side", "client", file("all.pcap")])).out);
    const merged = await run(["decode", "--side", "client", file("odd.pcap"), file("even.pcapng")]);
    expect(merged.code, merged.err).toBe(EXIT.OK);
    const got = lines(merged.out);
    expect(got).toHaveLength(whole.length);
    // the same messages in the same order, at the same times from the earliest packet of all files
    const cols = (l: string) => l.trim().split(/\s+/);
    const rest = (l: string, skip: number) => cols(l).slice(skip).join(" ");
    expect(got.map((l) => rest(l, 3))).toEqual(whole.map((l) => rest(l, 2)));
    expect(got.map((l) => cols(l)[1])).toEqual(whole.map((l) => cols(l)[1]));
    // each tagged with its file, and numbered as a frame of that file
    const frameOf = (l: string) => Number.parseInt(cols(l)[0] as string, 10) - 1;
    expect(got.map((l) => [cols(l)[2], frameOf(l)])).toEqual(
      whole.map((l) => {
        const record = frameOf(l);
        return record % 2 ? ["odd.pcap", (record - 1) / 2] : ["even.pcapng", record / 2];
      }),
    );
    const j = lines((await run(["decode", "--json", file("odd.pcap"), file("even.pcapng")])).out).map((x) => JSON.parse(x));
    expect(j.slice(0, 3).map((o) => [o.file, o.frame])).toEqual([
      ["even.pcapng", 1],
      ["odd.pcap", 1],
      ["even.pcapng", 2],
    ]);
  });
});

describe("iwpm replay: several files", () => {
  it("replays the merged timeline: the split scenario gives the state the whole one does", async () => {
    // odd.pcap, even.pcapng and all.pcap from the test above
    const whole = await run(["replay", "--side", "client", file("all.pcap")]);
    const merged = await run(["replay", "--side", "client", file("odd.pcap"), file("even.pcapng")]);
    expect(merged.code, merged.err).toBe(whole.code);
    const [head, ...state] = lines(merged.out);
    expect(head).toBe(
      `${file("odd.pcap")} + ${file("even.pcapng")}: 25 messages (25 netlink, 0 peer) in 24 packets over 23.000000 s; netlink captured on the client side`,
    );
    expect(state).toEqual(lines(whole.out).slice(1));
    expect(state.join("\n")).toContain("Anomalies (4):");
    const j = JSON.parse((await run(["replay", "--json", file("odd.pcap"), file("even.pcapng")])).out);
    expect(j).toMatchObject({ files: [file("odd.pcap"), file("even.pcapng")], messages: 25, records: 24 });
  });
});

describe("iwpm decode: damaged files", () => {
  const good = () => readCapture(pcap).records.map((r) => ({ time: r.time, data: r.data.slice() }));

  it("a 12-byte packet block at the end: the messages before it, one line, exit 4 (decode and replay)", async () => {
    const tail = new Uint8Array(12);
    const v = new DataView(tail.buffer);
    v.setUint32(0, 6, true);
    v.setUint32(4, 12, true);
    v.setUint32(8, 12, true);
    const bytes = concatChunks([pcapngFile(LINKTYPE_NETLINK, good().slice(0, 5), undefined, false), tail]);
    writeFileSync(file("short-epb.pcapng"), bytes);
    for (const args of [["decode"], ["decode", "--json", "-v", "--absolute"]]) {
      const r = await run([...args, file("short-epb.pcapng")]);
      expect(r.code, r.err).toBe(EXIT.FORMAT);
      expect(lines(r.out)).toHaveLength(5);
      expect(lines(r.err)).toEqual([
        `iwpm decode: ${file("short-epb.pcapng")}: a pcapng block of type 6 has a bad length 12 (at least 32, a multiple of 4): the file is damaged at offset ${bytes.length - 12} (the 5 records before it were read)`,
      ]);
    }
    const replay = await run(["replay", file("short-epb.pcapng")]);
    expect(replay.code).toBe(EXIT.FORMAT);
    expect(replay.out).toContain("5 messages");
    expect(lines(replay.err)).toHaveLength(1);
    expect(replay.err).toMatch(/^iwpm replay: .*short-epb\.pcapng: a pcapng block of type 6 has a bad length 12/);
  });

  it("if_tsresol 0 and 0x86: decode -v, --json and --absolute print every message, exit 0", async () => {
    for (const r of [0, 0x86]) {
      writeFileSync(file(`tsresol-${r}.pcapng`), pcapngFile(LINKTYPE_NETLINK, good(), r, false));
      for (const args of [["-v"], ["--json"], ["--absolute"], ["-v", "--json", "--absolute"]]) {
        const out = await run(["decode", ...args, file(`tsresol-${r}.pcapng`)]);
        expect(out.code, `${r} ${args.join(" ")}: ${out.err}`).toBe(EXIT.OK);
        expect(out.err).toBe("");
      }
    }
    // a damaged one: the timestamps of 2^64 - 1 seconds still print
    const far = concatChunks([
      ngSectionHeader(),
      ngInterface(LINKTYPE_NETLINK, 0),
      ngPacket(0, 0xffffffff_ffffffffn, good()[0]?.data as Uint8Array),
    ]);
    writeFileSync(file("far.pcapng"), far);
    const r = await run(["decode", "--absolute", file("far.pcapng")]);
    expect(r.code).toBe(EXIT.OK);
    expect(r.out).toContain("18446744073709552000.000000000 s after 1970");
  });

  it("a file cut short: the whole records' messages, then a line saying where it ends, exit 4", async () => {
    const whole = pcapFile(LINKTYPE_NETLINK, good(), false);
    writeFileSync(file("cut.pcap"), whole.subarray(0, whole.length - 7));
    const r = await run(["decode", file("cut.pcap")]);
    expect(r.code).toBe(EXIT.FORMAT);
    expect(lines(r.out)).toHaveLength(24); // 25 messages, the last frame (1 message) cut
    expect(lines(r.err)).toEqual([
      expect.stringMatching(
        /^iwpm decode: .*cut\.pcap: the capture was cut short: it ends inside record 24 at offset \d+ \(\d+ of its \d+ bytes\); the 23 records before it were read$/,
      ),
    ]);
  });
});

describe.skipIf(!existsSync(BUNDLE) || findExecutable("setpriv") === undefined)(
  "damaged captures read by an unprivileged process (the bundle)",
  () => {
    it("decode, decode --json -v --absolute and replay as nobody: one line, exit 4, no stack trace", () => {
      const records = readCapture(pcap).records.map((r) => ({ time: r.time, data: r.data.slice() }));
      const tail = new Uint8Array(12);
      const v = new DataView(tail.buffer);
      v.setUint32(0, 6, true);
      v.setUint32(4, 12, true);
      v.setUint32(8, 12, true);
      // the file on stdin: the unprivileged process needs no access to the test's directory
      const bytes = concatChunks([pcapngFile(LINKTYPE_NETLINK, records, 0x86, false), tail]);
      // The bundle as nobody can read it: the checkout may be private (a clone under /root, mode 0700).
      const readable = mkdtempSync(path.join(tmpdir(), "iwpm-decode-bundle-"));
      cpSync(path.dirname(BUNDLE), readable, { recursive: true });
      chmodSync(readable, 0o755);
      const bundle = path.join(readable, path.basename(BUNDLE));
      for (const args of [["decode"], ["decode", "--json", "-v", "--absolute"], ["replay"]]) {
        const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, bundle, ...args, "-"], {
          input: bytes,
          encoding: "utf8",
        });
        expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(EXIT.FORMAT);
        expect(r.stderr).toMatch(
          /^iwpm (decode|replay): -: a pcapng block of type 6 has a bad length 12 .* \(the 24 records before it were read\)\n$/,
        );
        expect(r.stdout.length).toBeGreaterThan(0);
      }
      rmSync(readable, { recursive: true, force: true });
    });
  },
);

describe.skipIf(!existsSync(BUNDLE))("iwpm decode on a closed pipe (the bundle)", () => {
  it("decode big.pcap | head -1: one line, nothing on stderr, exit 0", () => {
    writeFileSync(file("big.pcap"), bigCapture(200_000));
    for (const args of ["", "--json"]) {
      const r = spawnSync(
        "bash",
        [
          "-c",
          `node "${BUNDLE}" decode ${args} "${file("big.pcap")}" 2>"${file("err.txt")}" | head -1; echo "exit \${PIPESTATUS[0]}"; cat "${file("err.txt")}"`,
        ],
        {
          encoding: "utf8",
        },
      );
      const out = lines(r.stdout);
      expect(out[0]).toMatch(args ? /^\{"frame":1,/ : /^ +1 +0\.000000 /);
      expect(out.slice(1)).toEqual(["exit 0"]);
    }
  });
});

describe("iwpm decode --json", () => {
  it("writes, per message, the object toJson gives plus frame and msg (and file with several files)", async () => {
    const x = await loadDecoderCore(coreModule());
    const expected = decodeRecords(x, readCapture(pcap).records, { keepBytes: false }).messages.map((m) => ({
      ...toJson(m),
      frame: m.record + 1,
      msg: m.proto === "netlink" ? m.part + 1 : 1,
    }));
    const got = lines((await run(["decode", "--json", file("scenario.pcap")])).out).map((l) => JSON.parse(l));
    expect(got).toEqual(JSON.parse(JSON.stringify(expected)));
  });
});

describe("iwpm decode: output unchanged", () => {
  // test/cli/fixtures/decode: captures (the scenario, a copy with damaged messages, a stretch of
  // ADD/REMOVE rounds, peer traffic over IPv4 and IPv6) and what decode printed for each case before
  // its output was written straight into bytes; any difference is a change in what users see.
  const FIXTURES = fileURLToPath(new URL("fixtures/decode/", import.meta.url));
  const cases = JSON.parse(readFileSync(path.join(FIXTURES, "cases.json"), "utf8")) as { name: string; args: string[] }[];
  it.each(cases)("$name: $args", async ({ name, args }) => {
    const r = await run(["decode", ...args.map((a) => (/\.pcap(ng)?$/.test(a) ? path.join(FIXTURES, a) : a))]);
    expect(r.code).toBe(EXIT.OK);
    expect(r.out).toBe(readFileSync(path.join(FIXTURES, `${name}.out`), "utf8"));
  });

  it("a FILE column outside ASCII (two- to four-byte UTF-8) is written as the same text", async () => {
    const name = "ünï→😀.pcap";
    cpSync(path.join(FIXTURES, "scenario.pcap"), file(name));
    const r = await run(["decode", "-t", "a", file(name), path.join(FIXTURES, "peer4.pcap"), path.join(FIXTURES, "peer6.pcapng")]);
    expect(r.code).toBe(EXIT.OK);
    expect(r.out).toContain(`  ${name}  `);
    expect(r.out.replaceAll(name, "scenario.pcap")).toBe(readFileSync(path.join(FIXTURES, "merged.out"), "utf8"));
  });
});
