// The offline tools on a machine where the socket addon is missing: a copy of build/dist/ in a
// temp dir with no native/ beside it, no C compiler on PATH, an empty addon cache, and a hook that
// reports any native code loaded at all. `iwpm decode`, `iwpm replay` and the browser entry read a
// capture of `iwpm demo`; what tshark shows of the same capture is the reference.

import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../support/agent.js";
import { findExecutable } from "../support/netns.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = path.join(ROOT, "build", "dist", "cli.js");
const dir = mkdtempSync(path.join(tmpdir(), "iwpm-offline-"));
const COPY = path.join(dir, "pkg");
const COPY_CLI = path.join(COPY, "dist", "cli.js");
const CAPTURE = path.join(dir, "demo.pcap");
// Loaded before anything else: any native module, found wherever, is reported and refused.
const NO_NATIVE = path.join(dir, "no-native.mjs");
const NATIVE_LOADED = "native code loaded:";
const DLOPEN_LOG = path.join(dir, "dlopen.log");
const BROWSER_CHECK = path.join(dir, "browser-check.mjs");

const tshark = findExecutable("tshark");
if (tshark === undefined) console.warn("[cli/offline] skipped: tshark not found (apt-get install tshark)");

/** Runs the copy's CLI as on a machine without the addon or a compiler. */
function offline(args: string[]) {
  rmSync(DLOPEN_LOG, { force: true });
  return spawnSync(process.execPath, ["--import", NO_NATIVE, ...args], {
    cwd: dir,
    encoding: "utf8",
    env: { PATH: path.dirname(process.execPath), HOME: dir, XDG_CACHE_HOME: path.join(dir, "cache") },
  });
}

interface Header {
  frame: number;
  len: number;
  type: number;
  seq: number;
  pid: number;
}

/** tshark's reading of each netlink header of the capture, one per frame. */
function tsharkHeaders(): Header[] {
  const fields = ["frame.number", "netlink.hdr_len", "netlink.hdr_type", "netlink.hdr_seq", "netlink.hdr_pid"];
  const out = execFileSync(tshark as string, ["-r", CAPTURE, "-T", "fields", "-E", "separator=/t", ...fields.flatMap((f) => ["-e", f])], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  return out
    .trim()
    .split("\n")
    .map((row) => {
      const [frame, len, type, seq, pid] = row.split("\t").map((v) => Number(v));
      return { frame, len, type, seq, pid } as Header;
    });
}

describe.skipIf(tshark === undefined)("iwpm decode, replay and the browser entry without the socket addon", () => {
  let reference: Header[];

  beforeAll(() => {
    ensureBuilt();
    cpSync(path.join(ROOT, "build", "dist"), path.join(COPY, "dist"), { recursive: true });
    writeFileSync(path.join(COPY, "package.json"), JSON.stringify({ type: "module", private: true }));
    mkdirSync(path.join(dir, "cache"));
    // Logged to a file as well: a loader that catches the error must not hide the attempt.
    writeFileSync(
      NO_NATIVE,
      `import { appendFileSync } from "node:fs";
process.dlopen = (_module, file) => {
  appendFileSync(${JSON.stringify(DLOPEN_LOG)}, file + "\\n");
  throw new Error(${JSON.stringify(NATIVE_LOADED)} + " " + file);
};
`,
    );
    writeFileSync(
      BROWSER_CHECK,
      `import { readFileSync } from "node:fs";
const [entry, wasm, capture] = process.argv.slice(2);
const m = await import(entry);
const x = await m.loadDecoderCore(readFileSync(wasm));
const records = [];
const reader = new m.CaptureReader((r) => records.push(r));
reader.push(readFileSync(capture));
reader.end();
const { messages } = m.decodeRecords(x, records);
console.log(JSON.stringify(messages.map((msg) => ({ frame: msg.record + 1, len: msg.len, type: msg.type, seq: msg.seq, pid: msg.pid }))));
`,
    );
    // The capture comes from the full build, over real sockets.
    const port = 20000 + Math.floor(Math.random() * 20000);
    execFileSync(process.execPath, [CLI, "demo", "--udp-port", String(port), "--capture", CAPTURE], { cwd: dir, stdio: "ignore" });
    reference = tsharkHeaders();
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("the copy has no addon anywhere it could look", () => {
    expect(existsSync(path.join(COPY, "native"))).toBe(false);
    expect(existsSync(path.join(dir, "build"))).toBe(false);
    // What the copy does when a socket is needed: it names what is missing, and how to fix it.
    const demo = offline([COPY_CLI, "demo", "--no-capture"]);
    expect(demo.status).not.toBe(0);
    expect(demo.stderr).toMatch(/NATIVE_UNAVAILABLE: the iwpm socket addon cannot be loaded: .*To fix: /);
    expect(demo.stderr).not.toMatch(/\n\s+at /);
  });

  it("decode prints every message tshark sees, with the same headers, and exits 0", () => {
    expect(reference.length).toBeGreaterThanOrEqual(14);
    const r = offline([COPY_CLI, "decode", "--json", CAPTURE]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Header & { opName?: string });
    expect(lines.map(({ frame, len, type, seq, pid }) => ({ frame, len, type, seq, pid }))).toEqual(reference);
    expect(lines.every((l) => typeof l.opName === "string")).toBe(true);
    expect(existsSync(DLOPEN_LOG)).toBe(false);
    const text = offline([COPY_CLI, "decode", CAPTURE]);
    expect(text.status).toBe(0);
    expect(text.stdout.trim().split("\n")).toHaveLength(reference.length);
    expect(existsSync(DLOPEN_LOG)).toBe(false);
  });

  it("replay prints the state at the end, as the full build does, and exits 0", () => {
    const r = offline([COPY_CLI, "replay", CAPTURE]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`${reference.length} messages`);
    // The daemon is whoever sent the first message, the HELLO.
    expect(r.stdout).toContain(`Daemon: port ${reference[0].pid}`);
    expect(existsSync(DLOPEN_LOG)).toBe(false);
    expect(r.stdout).toBe(execFileSync(process.execPath, [CLI, "replay", CAPTURE], { encoding: "utf8" }));
  });

  it("the browser entry imports and decodes the capture as tshark reads it", () => {
    const r = offline([BROWSER_CHECK, path.join(COPY, "dist", "browser.js"), path.join(COPY, "dist", "iwpm.wasm"), CAPTURE]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(reference);
    expect(existsSync(DLOPEN_LOG)).toBe(false);
  });
});
