// `iwpm demo` and `iwpm serve` as a user runs them: the built CLI in a child process. The demo runs
// as an unprivileged user when the tests run as root, to show it needs no privilege.

import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../support/agent.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = path.join(ROOT, "build", "dist", "cli.js");
const dir = mkdtempSync(path.join(tmpdir(), "iwpm-cli-"));
/** The CLI as nobody runs it: a copy in `dir`, because the checkout may be private (a clone under /root, mode 0700). */
const USER_CLI = path.join(dir, "dist", "cli.js");

/** Copies the built CLI and the socket addon it loads at run time (beside dist/, as in the package) into `dir`. */
function copyCliForUser(): void {
  cpSync(path.join(ROOT, "build", "dist"), path.join(dir, "dist"), { recursive: true });
  cpSync(path.join(ROOT, "build", "native"), path.join(dir, "native"), { recursive: true });
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
}
const udpPort = () => 20000 + Math.floor(Math.random() * 20000);
const asRoot = process.getuid?.() === 0;

function asUser(args: string[]): [string, string[]] {
  // setpriv drops to nobody; the temp dir must be writable for the capture.
  return asRoot ? ["setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, ...args]] : [process.execPath, args];
}

describe("iwpm demo and iwpm serve", () => {
  beforeAll(() => {
    ensureBuilt();
    execFileSync("chmod", ["777", dir]);
    copyCliForUser();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("demo runs without privileges, prints the tables and writes a capture that decodes", { timeout: 30_000 }, () => {
    const capture = path.join(dir, "demo.pcap");
    const [cmd, args] = asUser([asRoot ? USER_CLI : CLI, "demo", "--udp-port", String(udpPort()), "--capture", capture]);
    const out = execFileSync(cmd, args, { cwd: dir, encoding: "utf8" });
    expect(out).toMatch(/register registered=true ABI v4/);
    expect(out).toMatch(/add {6}127\.0\.0\.1:5002 \(NO_PORT_MAP\) -> 127\.0\.0\.1:5002/);
    expect(out).toMatch(/consumed: 127\.0\.0\.1:6000/);
    expect(out).toMatch(/mapinfo table/);
    expect(out).toMatch(/mappings \(service/);
    const decoded = execFileSync(process.execPath, [CLI, "decode", "--json", capture], { encoding: "utf8" });
    const lines = decoded
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { op?: string; name?: string });
    expect(lines.length).toBeGreaterThanOrEqual(14);
    expect(decoded).not.toMatch(/unknown/i);
    expect(readFileSync(capture).readUInt32LE(0)).toBe(0xa1b2c3d4);
  });

  it("demo --help and a taken UDP port say what to do", { timeout: 30_000 }, async () => {
    expect(execFileSync(process.execPath, [CLI, "demo", "--help"], { encoding: "utf8" })).toMatch(/Usage: iwpm demo/);
    const port = udpPort();
    const dgram = await import("node:dgram");
    const holder = dgram.createSocket("udp4");
    await new Promise<void>((r) => holder.bind(port, r));
    try {
      execFileSync(process.execPath, [CLI, "demo", "--no-capture", "--udp-port", String(port)], { encoding: "utf8", stdio: "pipe" });
      throw new Error("demo succeeded with its UDP port taken");
    } catch (err) {
      const e = err as { status: number; stderr: string };
      expect(e.status).toBe(1);
      expect(e.stderr).toMatch(/--udp-port/);
    } finally {
      holder.close();
    }
  });

  it("serve dumps its table on SIGUSR1 and exits cleanly on SIGTERM", { timeout: 30_000 }, async () => {
    const child = spawn(
      process.execPath,
      [CLI, "serve", "--protocol", "2", "--udp-port", String(udpPort()), "--port", String(0x50000000 + process.pid)],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    let exitCode: number | null | undefined;
    const exited = new Promise<number | null>((r) =>
      child.on("exit", (code) => {
        exitCode = code;
        r(code);
      }),
    );
    // Waits for a line, failing at once (with what it said) if the service exits first.
    const until = async (line: RegExp) => {
      while (!line.test(stdout)) {
        if (exitCode !== undefined) throw new Error(`iwpm serve exited (${exitCode}) before ${line}: ${stderr || stdout}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until(/iwpm serve: .*netlink port/);
    child.kill("SIGUSR1");
    await until(/mappings \(0\)/);
    expect(stdout).toMatch(/client +local +mapped +refs +port held/);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/SIGTERM: releasing 0 mapped ports and exiting/);
    expect(stderr).toBe("");
  });
});
