// A client whose port mapper dies under load, against the real rdma-core iwpmd (under the
// LD_PRELOAD library, in a fresh network namespace; the client in a process of its own). Root
// only; skipped, with the reason printed, where namespaces, ip, gcc or iwpmd are unavailable.

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Agent, type CallResult, ensureBuilt, randomClientPort, startAgent } from "../support/agent.js";
import { type Iwpmd, startIwpmd } from "../support/iwpmd.js";
import { canUseNamespaces, createNamespace, type Netns, settlesWithin } from "../support/netns.js";

const DEV = { devName: "siw0", ifName: "lo" };

const namespaces: Netns[] = [];
const daemons: Iwpmd[] = [];
const agents: Agent[] = [];

const support = canUseNamespaces();
if (!support.ok) console.warn(`[interop/liveness] skipped: ${support.reason}`);

describe.skipIf(!support.ok)("a client whose iwpmd dies", () => {
  beforeAll(() => {
    ensureBuilt();
  }, 120_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail" || process.env.IWPM_TEST_LOG === "1") {
      for (const d of daemons) console.log(`--- iwpmd ${d.pid} ---\n${d.log()}`);
      for (const a of agents) console.log(`--- agent ${a.port} stderr ---\n${a.proc.stderr()}`);
    }
    const results = await Promise.allSettled([...agents.splice(0).map((a) => a.close()), ...daemons.splice(0).map((d) => d.stop())]);
    const nsResults = await Promise.allSettled(namespaces.splice(0).map((ns) => ns.destroy()));
    const failed = [...results, ...nsResults].filter((r) => r.status === "rejected");
    if (failed.length > 0) {
      throw new AggregateError(
        failed.map((r) => (r as PromiseRejectedResult).reason),
        "cleanup failed",
      );
    }
  });

  it("10,000 requests in flight, iwpmd killed with SIGKILL: every one settles with DAEMON_GONE, then close() lets the process exit", {
    timeout: 120_000,
  }, async () => {
    const N = 10_000;
    const ns = await createNamespace("iwpm-live");
    namespaces.push(ns);
    const P = randomClientPort();
    const daemon = await startIwpmd(ns, { clientPort: P });
    daemons.push(daemon);
    // The client's own timeout stays far beyond the test's, so only the liveness probe can settle them.
    const agent = await startAgent(ns, P, { timeoutMs: 600_000 }, 110_000);
    agents.push(agent);
    expect(await agent.call("registerPid", DEV)).toEqual({ registered: true, abiVersion: 4 });

    // A stopped iwpmd keeps its port (so the probes find it held) but answers nothing.
    expect(daemon.kill("SIGSTOP")).toBe(true);
    const locals = Array.from({ length: N }, (_, i) => `127.0.0.1:${10_000 + (i % 50_000)}`);
    const outcomes = agent.attempt<CallResult<unknown>[]>("addMappingMany", locals);
    const before = await agent.call<{ stats: { pending: number } }>("state");
    expect(before.stats.pending).toBe(N);

    expect(daemon.kill("SIGKILL")).toBe(true);
    await daemon.exited;
    const settled = await outcomes;
    expect(settled.ok).toBe(true);
    const list = (settled as { ok: true; value: CallResult<unknown>[] }).value;
    expect(list).toHaveLength(N);
    const codes = new Map<string, number>();
    for (const o of list) {
      const code = o.ok ? "OK" : o.code;
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    expect(Object.fromEntries(codes)).toEqual({ DAEMON_GONE: N });
    expect(await agent.call("state")).toMatchObject({ validPid: false, stats: { pending: 0 } });

    // Ending stdin closes the client; the agent must then exit by itself (no timer or handle left).
    agent.proc.child.stdin?.end();
    expect(await settlesWithin(agent.proc.exited, 10_000)).toBe(true);
    expect(await agent.proc.exited).toBe(0);
    expect(agent.proc.received().some((l) => l.closed === true)).toBe(true);
  });
});
