import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetlinkPcapWriter } from "../../src/capture/pcap.js";
import { EXIT } from "../../src/cli/command.js";
import { main } from "../../src/cli/index.js";
import { startWebServer } from "../../src/cli/web.js";
import { concatChunks, makeScenario, type Scenario } from "../replay/scenario.js";
import { FakeDaemon, v4 } from "../support/fake-daemon.js";
import { attrAddr, attrU32, nlmsg, rdma } from "../support/nl.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

interface Run {
  code: number;
  out: string;
  err: string;
}

function stream(tty = false) {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number; text: () => string };
  let text = "";
  s.on("data", (c: Buffer) => {
    text += c.toString("utf8");
  });
  s.isTTY = tty;
  s.columns = 100;
  s.text = () => text;
  return s;
}

async function run(args: string[], opts: { stdin?: Uint8Array; ttyErr?: boolean } = {}): Promise<Run> {
  const stdout = stream();
  const stderr = stream(opts.ttyErr ?? false);
  const stdin = new PassThrough();
  if (opts.stdin) stdin.end(Buffer.from(opts.stdin));
  else stdin.end();
  const code = await main(args, { stdout, stderr, stdin });
  await new Promise((r) => setImmediate(r));
  return { code, out: stdout.text(), err: stderr.text() };
}

const dir = mkdtempSync(path.join(tmpdir(), "iwpm-cli-"));
const file = (name: string) => path.join(dir, name);
let scenario: Scenario;

beforeAll(async () => {
  scenario = await makeScenario();
  writeFileSync(file("scenario.pcap"), scenario.pcap);
  writeFileSync(file("text.pcap"), "this is not a capture at all\n");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("iwpm", () => {
  it("lists its commands, and exits 2 without one", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(EXIT.OK);
    for (const c of ["decode", "replay", "web"]) expect(help.out).toMatch(new RegExp(`^  ${c} +\\S`, "m"));
    const none = await run([]);
    expect(none.code).toBe(EXIT.USAGE);
    expect(none.err).toContain("Usage: iwpm COMMAND");
    const unknown = await run(["frobnicate"]);
    expect(unknown.code).toBe(EXIT.USAGE);
    expect(unknown.err).toContain('unknown command "frobnicate"');
    expect((await run(["help", "replay"])).out).toContain("Usage: iwpm replay");
  });

  it.each(["decode", "replay", "web"])("%s --help", async (name) => {
    const r = await run([name, "--help"]);
    expect(r.code).toBe(EXIT.OK);
    expect(r.out).toContain(`Usage: iwpm ${name}`);
    expect(r.out).toContain("Exit codes");
  });

  it("says what is wrong with a command line, exit 2", async () => {
    const cases: [string[], RegExp][] = [
      [["decode"], /a capture FILE is required/],
      [["decode", "--bogus", "x"], /Unknown option '--bogus'/],
      [["decode", "--side", "left", file("scenario.pcap")], /--side must be "client" or "daemon"/],
      [["replay", "--at", "soon", file("scenario.pcap")], /--at "soon" is not a time/],
      [["replay", "--limit", "-1", file("scenario.pcap")], /Option '--limit' argument is ambiguous|is not a whole number/],
      [["web", "--port", "70000"], /not 0..65535/],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      expect(r.code, args.join(" ")).toBe(EXIT.USAGE);
      expect(r.err).toMatch(message);
    }
  });

  it("exits 3 for a file it cannot read and 4 for one that is not a capture", async () => {
    const missing = await run(["decode", file("nope.pcap")]);
    expect(missing.code).toBe(EXIT.INPUT);
    expect(missing.err).toBe(`iwpm decode: cannot read ${file("nope.pcap")}: no such file\n`);
    expect((await run(["replay", dir])).code).toBe(EXIT.INPUT);
    const text = await run(["decode", file("text.pcap")]);
    expect(text.code).toBe(EXIT.FORMAT);
    expect(text.err).toContain("not a pcap or pcapng file");
  });
});

describe("iwpm decode", () => {
  it("prints one line per message", async () => {
    const r = await run(["decode", file("scenario.pcap")]);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split("\n");
    expect(lines).toHaveLength(25);
    expect(lines[0]).toMatch(/^ +1 +0\.000000 +daemon→client +HELLO +c2 seq 0 pid 1234 +ABI 4$/);
    expect(lines[5]).toMatch(/client→daemon +ADD_MAPPING request +c2 seq \d+ pid 4321 +127\.0\.0\.1:5555 flags 0$/);
    expect(lines[11]).toContain("IWPM_DUPLICATE_MAPPING_ERR (12) for seq");
    expect(r.err).toBe("");
  });

  it("-v prints every field, --json one object per line, --absolute UTC times", async () => {
    const v = await run(["decode", "-v", file("scenario.pcap")]);
    expect(v.out).toMatch(/^ +nlmsg_len +164$/m);
    expect(v.out).toMatch(/^ +mappedLocal +127\.0\.0\.1:40000$/m);
    const j = await run(["decode", "--json", file("scenario.pcap")]);
    const objs = j.out
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(objs).toHaveLength(25);
    expect(objs[6]).toMatchObject({
      index: 6,
      label: "ADD_MAPPING reply",
      direction: "to_client",
      attrs: { mappedLocal: "127.0.0.1:40000" },
    });
    const a = await run(["decode", "--absolute", file("scenario.pcap")]);
    expect(a.out).toMatch(/^ +1 2026-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z {2}daemon→client /);
  });

  it("reads stdin for -", async () => {
    const r = await run(["decode", "-"], { stdin: scenario.pcap });
    expect(r.code).toBe(0);
    expect(r.out.trimEnd().split("\n")).toHaveLength(25);
  });

  it("shows a progress bar on a terminal for a large file", async () => {
    const chunks: Uint8Array[] = [];
    const w = new NetlinkPcapWriter((b) => chunks.push(b));
    const d = new FakeDaemon(1234);
    for (let i = 0; i < 12_000; i++) {
      const t = { sec: 1000 + Math.floor(i / 1000), nsec: (i % 1000) * 1_000_000 };
      w.write(
        t,
        { direction: "out", port: 1234 },
        nlmsg({ type: rdma(2, 1), seq: i + 1, pid: 4321 }, [attrU32(1, 0), attrAddr(2, v4("10.0.0.1", 1 + (i % 60000))), attrU32(3, 0)]),
      );
      w.write(t, { direction: "in", port: 1234 }, d.addReply(i + 1, v4("10.0.0.1", 1 + (i % 60000)), v4("10.0.0.1", 30000 + (i % 30000))));
    }
    writeFileSync(file("big.pcap"), concatChunks(chunks));
    const r = await run(["replay", file("big.pcap")], { ttyErr: true });
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/\[#+\.*\] +\d+% .* MiB, \d+ messages/);
    expect(r.err.endsWith("\r\x1b[K")).toBe(true);
    expect(r.out).toContain("Mappings (12000):");
    expect(r.out).toContain("… and 11900 more (--limit 0 shows all)");
    const quiet = await run(["replay", file("big.pcap")]);
    expect(quiet.err).toBe("");
  });
});

describe("iwpm replay", () => {
  it("prints the final tables and the anomalies", async () => {
    const r = await run(["replay", file("scenario.pcap")]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      "25 messages (25 netlink, 0 peer) in 24 packets over 12.090000 s; netlink captured on the client side (inferred)",
    );
    expect(r.out).toContain("Daemon: port 2345, ABI 4");
    expect(r.out).toMatch(
      /Mappings \(1\):\n +client +local +mapped +flags +from +since\n +2 +127\.0\.0\.1:5555 +127\.0\.0\.1:40000 +0 +ADD_MAPPING +0\.025000 #6/,
    );
    expect(r.out).toContain("Remote info (2):");
    expect(r.out).toMatch(/Pending requests \(1\):[\s\S]*ADD_MAPPING request +127\.0\.0\.1:6666 .*\(timed out at 10 s\)/);
    expect(r.out).toMatch(/Anomalies \(4\):\n.*error +HANDLE_ERR IWPM_DUPLICATE_MAPPING_ERR/);
  });

  it("--at gives the state at a moment; --json the same as data; --strict fails on anomalies", async () => {
    const at = await run(["replay", "--at", "30ms", file("scenario.pcap")]);
    expect(at.out).toContain("State at 0.030000 s (after message #7):");
    expect(at.out).toMatch(/Pending requests \(1\):[\s\S]*QUERY_MAPPING request +10\.0\.0\.1:6000 → 10\.0\.0\.2:7000/);
    expect(at.out).toContain("Anomalies (0):");
    const j = JSON.parse((await run(["replay", "--json", "--at", "0.03", file("scenario.pcap")])).out);
    expect(j).toMatchObject({ messages: 25, side: "client", at: 0.03, state: { index: 7, counts: { mappings: 1, pending: 1 } } });
    expect((await run(["replay", "--strict", file("scenario.pcap")])).code).toBe(EXIT.FAILURE);
    expect((await run(["replay", "--strict", "--at", "0.03", file("scenario.pcap")])).code).toBe(EXIT.OK);
  });
});

describe("iwpm web", () => {
  it("serves files with their types (wasm as application/wasm), a capture, and nothing outside the page", async () => {
    const root = path.join(dir, "web");
    mkdirSync(root, { recursive: true });
    writeFileSync(path.join(root, "index.html"), "<!doctype html><title>t</title>");
    writeFileSync(path.join(root, "iwpm.wasm"), new Uint8Array([0, 97, 115, 109]));
    const web = await startWebServer({ root, port: 0, capture: file("scenario.pcap") });
    try {
      expect(web.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#capture=capture%2Fscenario\.pcap$/);
      const base = `http://127.0.0.1:${web.port}`;
      const index = await fetch(`${base}/`);
      expect(index.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(await index.text()).toContain("<title>t</title>");
      const wasm = await fetch(`${base}/iwpm.wasm`);
      expect(wasm.headers.get("content-type")).toBe("application/wasm");
      const cap = await fetch(`${base}/capture/scenario.pcap`);
      expect(new Uint8Array(await cap.arrayBuffer()).length).toBe(scenario.pcap.length);
      expect((await fetch(`${base}/..%2f..%2fetc/passwd`)).status).toBeGreaterThanOrEqual(403);
      expect((await fetch(`${base}/missing.js`)).status).toBe(404);
    } finally {
      await web.close();
    }
  });
});

const BUNDLE = path.join(ROOT, "build", "dist", "cli.js");

describe.skipIf(!existsSync(BUNDLE))("the built iwpm command (build/dist/cli.js)", () => {
  it("runs decode and replay from the bundle, next to its iwpm.wasm", () => {
    const help = spawnSync(process.execPath, [BUNDLE, "--help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("decode");
    const r = spawnSync(process.execPath, [BUNDLE, "replay", file("scenario.pcap")], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("Mappings (1):");
    const bad = spawnSync(process.execPath, [BUNDLE, "decode", file("nope.pcap")], { encoding: "utf8" });
    expect(bad.status).toBe(EXIT.INPUT);
  });

  it.skipIf(!existsSync(path.join(ROOT, "build", "web", "index.html")))(
    "serves the page with iwpm web, prints its URL, stops on SIGINT",
    async () => {
      const child = spawn(process.execPath, [BUNDLE, "web", "--port", "0", file("scenario.pcap")], { stdio: ["ignore", "pipe", "pipe"] });
      try {
        const line = await new Promise<string>((resolve, reject) => {
          let out = "";
          child.stdout.setEncoding("utf8");
          child.stdout.on("data", (c: string) => {
            out += c;
            if (out.includes("\n")) resolve(out.trim());
          });
          child.on("exit", (code) => reject(new Error(`iwpm web exited (${code})`)));
        });
        const url = /(http:\/\/127\.0\.0\.1:\d+\/)#capture=capture%2Fscenario\.pcap$/.exec(line);
        expect(line, line).toMatch(/^Serving the iwpm replay page at /);
        const base = url?.[1] as string;
        expect(await (await fetch(base)).text()).toContain("iwpm capture replay");
        expect((await fetch(`${base}iwpm.wasm`)).headers.get("content-type")).toBe("application/wasm");
        expect((await (await fetch(`${base}capture/scenario.pcap`)).arrayBuffer()).byteLength).toBe(scenario.pcap.length);
        const exited = new Promise<number | null>((r) => child.on("exit", r));
        child.kill("SIGINT");
        expect(await exited).toBe(0);
      } finally {
        child.kill("SIGKILL");
      }
    },
  );
});
