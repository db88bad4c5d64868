// `iwpm serve` as an operator and an attacker meet it: the built CLI in a fresh network
// namespace, a client (the built package, in a process of its own), settings files, and hostile
// local processes run as nobody (a C flooder built here against the system headers).

import { type ChildProcess, execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadServiceNative } from "../../src/service/native.js";
import { type Agent, ensureBuilt, randomClientPort, startAgent } from "../support/agent.js";
import { buildTestProgram } from "../support/cc.js";
import { canUseNamespaces, createNamespace, linkNamespaces, type Netns } from "../support/netns.js";

const CLI = fileURLToPath(new URL("../../build/dist/cli.js", import.meta.url));
const FLOOD_C = fileURLToPath(new URL("./fixtures/flood.c", import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), "iwpm-serve-"));
const FLOOD = path.join(dir, "flood");
const NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups"];

const support = canUseNamespaces();
if (!support.ok) console.warn(`[cli/serve] namespace cases skipped: ${support.reason}`);

interface Served {
  port: number;
  child: ChildProcess;
  out(): string;
  exited: Promise<number | null>;
  /** SIGUSR1, then the next stats line once it satisfies `done`. */
  stats(done?: (line: string) => boolean): Promise<string>;
  stop(): Promise<number | null>;
}

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `iwpm serve --protocol 2 …` in `ns`; resolves once its start-up line is out. */
async function serve(ns: Netns, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const child = ns.spawn(process.execPath, [CLI, "serve", "--protocol", "2", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  await until("the start-up line", () => /iwpm serve: .*netlink port \d+/.test(out) || gone);
  const m = /iwpm serve: .*netlink port (\d+)/.exec(out);
  if (m === null) throw new Error(`iwpm serve did not start:\n${out}`);
  return {
    port: Number(m[1]),
    child,
    out: () => out,
    exited,
    async stats(done = () => true) {
      const end = Date.now() + 150_000;
      for (;;) {
        if (Date.now() > end) throw new Error(`the stats never showed what was awaited:\n${out.slice(-2000)}`);
        const before = out.length;
        child.kill("SIGUSR1");
        await until("a stats line", () => /stats: .*\n/.test(out.slice(before)));
        const line = /stats: (.*)\n/.exec(out.slice(before))?.[1] ?? "";
        if (done(line)) return line;
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** The flooder as nobody in `ns`; resolves its stdout once it exits 0. */
async function flood(ns: Netns, ...args: string[]): Promise<string> {
  const child = ns.spawn("setpriv", [...NOBODY, FLOOD, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  child.stdout?.on("data", (d: Buffer) => {
    text += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    text += d.toString();
  });
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  if (code !== 0) throw new Error(`flood ${args.join(" ")} exited ${code}: ${text}`);
  return text;
}

const counter = (line: string, name: string) => Number(new RegExp(`\\b${name}=(\\d+)`).exec(line)?.[1] ?? 0);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("iwpm serve settings on the command line and in a file", () => {
  beforeAll(() => ensureBuilt());

  const run = (args: string[]) => spawnSync(process.execPath, [CLI, "serve", ...args], { encoding: "utf8" });

  for (const [args, message] of [
    [["--udp-port", "99999"], /^iwpm serve: --udp-port "99999" is not a UDP port of 1\.\.65535\n$/],
    [["--query-ticks", "0"], /^iwpm serve: --query-ticks "0" is not seconds a peer query waits of 1\.\.10\n$/],
    [["--port", "4294967296"], /^iwpm serve: --port "4294967296" is not a netlink port id \(0: the kernel picks\) of 0\.\.4294967295\n$/],
    [["--rcvbuf", "12k"], /^iwpm serve: --rcvbuf "12k" is not a receive buffer size in bytes/],
    [["--protocol", "7"], /^iwpm serve: --protocol "7" is not 2 \(NETLINK_USERSOCK\), 20 \(NETLINK_RDMA\) or auto\n$/],
    [["--log-level", "chatty"], /^iwpm serve: --log-level "chatty" is not a log level \(error, warning, notice, info, debug\)\n$/],
    [["--log-target", "file"], /^iwpm serve: --log-target "file" is not auto, syslog or stdout\n$/],
  ] as const) {
    it(`refuses ${args.join(" ")} with one line and exit code 2`, () => {
      const r = run([...args]);
      expect(r.stderr).toMatch(message);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
    });
  }

  it("refuses a settings file with an unknown key or a bad value, naming the line, with exit code 2", () => {
    const conf = path.join(dir, "bad.conf");
    writeFileSync(conf, "# iwpmd.conf\nnl_sock_rbuf_size=419430400\nnl_sock_rbufsize=1\n");
    let r = run(["--config", conf]);
    expect(r.stderr).toBe(
      `iwpm serve: ${conf}:3: unknown setting "nl_sock_rbufsize"; known: ${"nl_sock_rbuf_size"}, netlink_port, client_port, udp_port, max_mappings, max_mappings_per_port, query_ticks, stats_interval, protocol, log_level, client_uid\n`,
    );
    expect(r.status).toBe(2);
    writeFileSync(conf, "udp_port = 70000\n");
    r = run(["--config", conf]);
    expect(r.stderr).toBe(`iwpm serve: ${conf}:1: udp_port "70000" is not a UDP port of 1..65535\n`);
    expect(r.status).toBe(2);
    r = run(["--config", path.join(dir, "missing.conf")]);
    expect(r.stderr).toMatch(/^iwpm serve: cannot read the settings file .*missing\.conf: ENOENT/);
    expect(r.status).toBe(3);
  });

  it("--help names iwpmd's options, the settings file keys and how it differs from iwpmd", () => {
    const r = run(["--help"]);
    expect(r.status).toBe(0);
    for (const text of ["-s, --systemd", "/etc/iwpmd.conf", "[nl_sock_rbuf_size]", "Differences from iwpmd", "listen"]) {
      expect(r.stdout).toContain(text);
    }
  });
});

describe.skipIf(!support.ok)("iwpm serve in a namespace", () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  beforeAll(() => {
    ensureBuilt();
    buildTestProgram(FLOOD_C, FLOOD);
    chmodSync(dir, 0o755);
  });
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
  });

  /**
   * A namespace with the service and a client. With `notify`, the service's unsolicited messages
   * (HANDLE_ERR among them) go to the client, as they go to the kernel on NETLINK_RDMA.
   */
  async function setup(args: string[] = [], o: { notify?: boolean; env?: NodeJS.ProcessEnv } = {}) {
    const ns = await createNamespace("iwpm-serve");
    cleanup.push(() => ns.destroy());
    const port = randomClientPort();
    const svc = await serve(ns, [...args, ...(o.notify ? ["--client-port", String(port)] : [])], o.env);
    cleanup.push(() => svc.stop());
    const agent = await startAgent(ns, port);
    cleanup.push(() => agent.close());
    return { ns, svc, agent };
  }

  const register = (agent: Agent) => agent.call("registerPid", { devName: "siw0", ifName: "lo" });

  it("honours a settings file: its bound refuses the third mapping, its level logs each one", { timeout: 30_000 }, async () => {
    const conf = path.join(dir, "good.conf");
    writeFileSync(
      conf,
      "# as iwpmd reads it\nnl_sock_rbuf_size=419430400\nmax_mappings_per_port = 2\nquery_ticks = 2\nlog_level = debug\n",
    );
    const { svc, agent } = await setup(["--config", conf, "--stats"], { notify: true });
    expect(svc.out()).toMatch(/mappings 65536 in all, 2 per port, peer queries answered within 2 s/);
    expect(await register(agent)).toEqual({ registered: true, abiVersion: 4 });
    await agent.call("addMapping", "127.0.0.1:5000");
    await agent.call("addMapping", "127.0.0.1:5001");
    expect(await agent.attempt("addMapping", "127.0.0.1:5002")).toMatchObject({ ok: false, code: "REJECTED", iwpmCode: 11 });
    await until("the debug line of a mapping", () => /debug: add: 127\.0\.0\.1:5001 -> 127\.0\.0\.1:\d+/.test(svc.out()));
    expect(counter(await svc.stats(), "portLimit")).toBe(1);
    expect(await svc.stop()).toBe(0);
  });

  it("by default nobody is not a client: its HELLO{0} and its ADDs are counted as untrusted and change nothing", {
    timeout: 30_000,
  }, async () => {
    const { ns, svc, agent } = await setup(["--stats"]);
    await flood(ns, "hello0", String(svc.port));
    expect(await flood(ns, "adds", String(svc.port), "1000")).toBe("sent 1000\n");
    // One HELLO, then a REG_PID and the ADDs: one datagram each.
    const line = await svc.stats((l) => counter(l, "untrusted") === 1002);
    expect(counter(line, "badVersion")).toBe(0);
    expect(counter(line, "mappings")).toBe(0);
    expect(await register(agent)).toEqual({ registered: true, abiVersion: 4 });
  });

  // The rest trust every local process (--client-uid any), so that the service's own limits are
  // what stands between nobody and its table.
  it("a HELLO offering version 0 from nobody changes nothing: the next client registers with version 4", { timeout: 30_000 }, async () => {
    const { ns, svc, agent } = await setup(["--stats", "--client-uid", "any"]);
    await flood(ns, "hello0", String(svc.port));
    await svc.stats((line) => counter(line, "badVersion") === 1);
    expect(await register(agent)).toEqual({ registered: true, abiVersion: 4 });
  });

  it("100,000 well-formed ADDs from nobody: the mappings stay within the bound, no port or fd leaks, and it still serves", {
    timeout: 200_000,
  }, async () => {
    const { ns, svc, agent } = await setup(["--stats", "--client-uid", "any"]);
    const fds = () => readdirSync(`/proc/${svc.child.pid}/fd`).length;
    const idle = fds();
    expect(await flood(ns, "adds", String(svc.port), "100000")).toBe("sent 100000\n");
    // Each ADD ends as a mapping, a refusal at a bound or without a port, or a reply the flooder
    // never read (its queue full: the reply's send fails and, as in iwpmd, no mapping is listed).
    const settled = (l: string) => ["mappings", "portLimit", "noPort", "sendFailed"].reduce((n, r) => n + counter(l, r), 0);
    const line = await svc.stats((l) => settled(l) >= 100_000);
    const mappings = counter(line, "mappings");
    expect(mappings).toBeLessThanOrEqual(4096);
    expect(settled(line)).toBe(100_000);
    // One descriptor per held port, nothing for a refused request.
    expect(fds() - idle).toBe(mappings);
    expect(await register(agent)).toEqual({ registered: true, abiVersion: 4 });
    // Outside the flood's locals (127.0.0.1 and 127.0.0.2, every port), which may still be mapped.
    expect(await agent.attempt("addMapping", "127.0.0.3:5000")).toMatchObject({ ok: true });
    expect(await svc.stop()).toBe(0);
    expect(svc.out()).toMatch(new RegExp(`SIGTERM: releasing ${mappings + 1} mapped ports and exiting`));
  });

  it("200,000 malformed netlink and 200,000 malformed UDP datagrams from nobody leave it serving", { timeout: 200_000 }, async () => {
    const { ns, svc, agent } = await setup(["--stats", "--udp-port", "3935", "--client-uid", "any"]);
    expect(await flood(ns, "badnl", String(svc.port), "200000")).toBe("sent 200000\n");
    expect(await flood(ns, "badudp", "3935", "200000")).toBe("sent 200000\n");
    const netlinkDrops = (l: string) => ["badFrame", "invalid", "notRegistered", "unknownOp"].reduce((n, r) => n + counter(l, r), 0);
    const line = await svc.stats((l) => netlinkDrops(l) >= 200_000);
    expect(netlinkDrops(line)).toBe(200_000);
    expect(counter(line, "badFrame")).toBeGreaterThan(0);
    expect(counter(line, "invalid")).toBeGreaterThan(0);
    expect(counter(line, "unknownOp")).toBeGreaterThan(0);
    // The kernel may drop UDP datagrams the service had no time to read; every one it read is counted.
    expect(counter(line, "peerMalformed")).toBeGreaterThan(0);
    expect(counter(line, "mappings")).toBe(0);
    expect(svc.child.exitCode).toBeNull();
    expect(await register(agent)).toEqual({ registered: true, abiVersion: 4 });
    expect(await agent.attempt("addMapping", "127.0.0.1:5000")).toMatchObject({ ok: true });
  });

  it("a query to an address where no port mapper answers ends in a typed rejection, not the client's timeout", {
    timeout: 30_000,
  }, async () => {
    // The peer host is a namespace of its own where no port mapper runs.
    const capture = path.join(dir, "serve.pcapng");
    const { ns, svc, agent } = await setup(["--capture", capture]);
    const peer = await createNamespace("iwpm-nopm");
    cleanup.push(() => peer.destroy());
    await linkNamespaces(ns, peer);
    await register(agent);
    // The client's default timeout (10 s) applies; the service answers after its 5 ticks.
    expect(await agent.attempt("addAndQueryMapping", "10.77.0.1:6001", "10.77.0.2:7000")).toMatchObject({
      ok: false,
      code: "REMOTE_REJECTED",
      iwpmCode: 16,
    });
    expect(await svc.stop()).toBe(0);
    // Its capture holds both sides: the netlink exchange and the REQUEST sent on each tick.
    const lines = execFileSync(process.execPath, [CLI, "decode", "--json", capture], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { proto: string; label?: string; op?: string });
    expect(lines.filter((l) => l.proto === "peer")).toHaveLength(5);
    expect(lines.filter((l) => l.proto === "netlink").length).toBeGreaterThanOrEqual(4);
  });
});

// sd_notify needs an AF_UNIX datagram sender, which only the native module provides: until it is
// part of the build (src/service/native.ts), -s cannot notify and this case cannot pass.
const native = await loadServiceNative();
if (native === undefined) console.warn("[cli/serve] -s case skipped: this build has no native module (src/service/native.ts)");

describe.skipIf(!support.ok || native === undefined)("iwpm serve -s under a notify socket", () => {
  const RECEIVER = path.join(dir, "notify-receiver");
  beforeAll(() => {
    ensureBuilt();
    execFileSync("gcc", [
      "-O2",
      "-Wall",
      "-Werror",
      "-o",
      RECEIVER,
      fileURLToPath(new URL("./fixtures/notify-receiver.c", import.meta.url)),
    ]);
  });

  it("sends READY=1 before the first client request succeeds, and STOPPING=1 on SIGTERM", { timeout: 60_000 }, async () => {
    const ns = await createNamespace("iwpm-notify");
    const socket = path.join(dir, "notify.sock");
    const receiver = ns.spawn(RECEIVER, [socket], { stdio: ["ignore", "pipe", "inherit"] });
    let heard = "";
    receiver.stdout?.on("data", (d: Buffer) => {
      heard += d.toString();
    });
    try {
      await until("the notify socket", () => heard.startsWith("bound\n"));
      // The client asks before the service exists and keeps asking; only the order is compared.
      const agent = await startAgent(ns, randomClientPort(), { timeoutMs: 300 });
      let registered = false;
      const asking = (async () => {
        while (!registered) {
          const r = await agent.attempt("registerPid", { devName: "siw0", ifName: "lo" });
          if (r.ok) registered = true;
        }
      })();
      const svc = await serve(ns, ["-s", "--log-target", "stdout"], { NOTIFY_SOCKET: socket });
      await asking;
      // The service's own log is one ordered stream: READY=1 went out before it answered anyone.
      const out = svc.out();
      expect(out).toContain("told systemd: READY=1");
      expect(out.indexOf("told systemd: READY=1")).toBeLessThan(out.indexOf("registered from netlink port"));
      await until("READY=1 at the notify socket", () => /^READY=1\|STATUS=serving on netlink port \d+$/m.test(heard));
      expect(await svc.stop()).toBe(0);
      await until("STOPPING=1", () => /^STOPPING=1\|STATUS=SIGTERM: stopping$/m.test(heard));
      await agent.close();
    } finally {
      receiver.kill();
      await ns.destroy();
    }
  });
});
