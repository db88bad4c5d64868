// A client whose port mapper dies under load, against the real rdma-core iwpmd (under the
// LD_PRELOAD library, in a fresh network namespace; the client in a process of its own). Root
// only; skipped, with the reason printed, where namespaces, ip, gcc or iwpmd are unavailable.

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type CallResult, ensureBuilt, randomClientPort, startAgent } from "../support/agent.js";
import { startIwpmd } from "../support/iwpmd.js";
import { Lab } from "../support/lab.js";
import { canUseNamespaces, createNamespace, settlesWithin } from "../support/netns.js";

const lab = new Lab();

const DEV = { devName: "siw0", ifName: "lo" };

const support = canUseNamespaces();
if (!support.ok) console.warn(`[interop/liveness] skipped: ${support.reason}`);

describe.skipIf(!support.ok)("a client whose iwpmd dies", () => {
  beforeAll(() => {
    ensureBuilt();
  }, 120_000);

  afterEach((ctx) => lab.end(ctx));

  it("10,000 requests in flight, iwpmd killed with SIGKILL: every one settles with DAEMON_GONE, then close() lets the process exit", {
    timeout: 120_000,
  }, async () => {
    const N = 10_000;
    const ns = await createNamespace("iwpm-live");
    lab.namespace(ns);
    const P = randomClientPort();
    const daemon = await startIwpmd(ns, { clientPort: P });
    lab.daemon(daemon);
    // The client's own timeout stays far beyond the test's, so only the liveness probe can settle them.
    const agent = await startAgent(ns, P, { timeoutMs: 600_000 }, 110_000);
    lab.agent(agent);
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
