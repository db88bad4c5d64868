// iwpmd restarted while another program took the mapped port of one of the client's mappings:
// the real rdma-core iwpmd (under the LD_PRELOAD library) in a fresh network namespace, the client
// in a process of its own. Root only; skipped, with the reason printed, where namespaces, ip, gcc
// or iwpmd are unavailable.

import type { ChildProcess } from "node:child_process";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type CallResult, ensureBuilt, randomClientPort, startAgent } from "../support/agent.js";
import { startIwpmd } from "../support/iwpmd.js";
import { Lab } from "../support/lab.js";
import { canUseNamespaces, createNamespace, type Netns } from "../support/netns.js";

const lab = new Lab();

interface Addr {
  family: "ipv4" | "ipv6";
  address: string;
  port: number;
}
interface Mapping {
  local: Addr;
  mappedLocal: Addr;
}

const DEV = { devName: "siw0", ifName: "lo" };
const IWPM_CREATE_MAPPING_ERR = 11;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a TCP port of `ip` can be bound inside the namespace (false: someone holds it). */
async function tcpPortFree(ns: Netns, ip: string, port: number): Promise<boolean> {
  const script =
    'const s=require("net").createServer();s.on("error",e=>{console.log(e.code);process.exit(0)});' +
    's.listen({host:process.argv[1],port:+process.argv[2],exclusive:true},()=>{console.log("FREE");s.close()})';
  const out = (await ns.exec(process.execPath, ["-e", script, ip, String(port)])).trim();
  if (out !== "FREE" && out !== "EADDRINUSE") throw new Error(`bind probe of ${ip}:${port}: ${out}`);
  return out === "FREE";
}

/** Another program listening on `ip:port` in the namespace until killed; resolves once it listens. */
async function holdPort(ns: Netns, ip: string, port: number): Promise<ChildProcess> {
  const script =
    'const s=require("net").createServer();s.on("error",e=>{console.log(e.code);process.exit(1)});' +
    's.listen({host:process.argv[1],port:+process.argv[2],exclusive:true},()=>console.log("LISTENING"))';
  const child = ns.spawn(process.execPath, ["-e", script, ip, String(port)]);
  lab.process("port holder", () => child.kill("SIGKILL"));
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("LISTENING")) resolve();
    });
    child.on("exit", () => reject(new Error(`could not take ${ip}:${port}: ${out.trim()}`)));
  });
  return child;
}

const support = canUseNamespaces();
if (!support.ok) console.warn(`[interop/restart] skipped: ${support.reason}`);

describe.skipIf(!support.ok)("iwpmd restarted with one mapped port taken", () => {
  beforeAll(() => {
    ensureBuilt();
  }, 120_000);

  afterEach((ctx) => lab.end(ctx));

  it("40 mappings: one mapinfoRefused names the taken one, and the new iwpmd holds every other", { timeout: 120_000 }, async () => {
    const N = 40;
    const ns = await createNamespace("iwpm-restart");
    lab.namespace(ns);
    const P = randomClientPort();
    const first = await startIwpmd(ns, { clientPort: P });
    lab.daemon(first);
    const agent = await startAgent(ns, P);
    lab.agent(agent);
    expect(await agent.call("registerPid", DEV)).toEqual({ registered: true, abiVersion: 4 });

    // Map and record as iw_cm does: add, then create the mapinfo record.
    const locals = Array.from({ length: N }, (_, i) => `127.0.0.1:${12_000 + i}`);
    const outcomes = await agent.call<CallResult<Mapping>[]>("addMappingMany", locals);
    const mappings = outcomes.map((o, i) => {
      expect(o, locals[i]).toMatchObject({ ok: true });
      return (o as { ok: true; value: Mapping }).value;
    });
    expect(
      await agent.call(
        "createMapinfoMany",
        mappings.map((m) => [m.local, m.mappedLocal]),
      ),
    ).toBe(N);

    first.kill("SIGKILL");
    await first.exited;
    // While no port mapper runs, another program takes the mapped port of one mapping.
    const taken = mappings[5] as Mapping;
    await holdPort(ns, taken.mappedLocal.address, taken.mappedLocal.port);

    const second = await startIwpmd(ns, { clientPort: P });
    lab.daemon(second);
    expect(await agent.nextEvent("mapinfoResent", undefined, 10_000)).toMatchObject({ records: N, status: 0, port: second.port });
    const refused = await agent.nextEvent("mapinfoRefused", undefined, 10_000);
    expect(refused).toMatchObject({
      nlClient: 2,
      code: IWPM_CREATE_MAPPING_ERR,
      name: "IWPM_CREATE_MAPPING_ERR",
      local: taken.local,
      mapped: taken.mappedLocal,
      resendStatus: 0,
      port: second.port,
    });
    expect(refused.resent).toBeGreaterThan(0);

    // Every other mapped port is held again by the new iwpmd, those sent a second time included.
    const others = mappings.filter((m) => m !== taken);
    const deadline = Date.now() + 10_000;
    for (const m of others) {
      while (await tcpPortFree(ns, m.mappedLocal.address, m.mappedLocal.port)) {
        if (Date.now() > deadline) throw new Error(`the new iwpmd does not hold ${m.mappedLocal.address}:${m.mappedLocal.port}`);
        await sleep(50);
      }
    }
    // The client registered again by itself: a mapping call right after resynced succeeds.
    const resynced = await agent.nextEvent("resynced", undefined, 10_000);
    expect(resynced).toMatchObject({ nlClient: 2, port: second.port, sent: N, refused: 1, registered: true });
    expect(resynced.resent).toBe(refused.resent);
    const fresh = await agent.call<Mapping>("addMapping", "127.0.0.1:13000");
    expect(fresh.mappedLocal.address).toBe("127.0.0.1");
    // And the new iwpmd knows the replayed mappings: adding one again is a duplicate.
    for (const m of [others[0], others.at(-1)] as Mapping[]) {
      const again = await agent.attempt("addMapping", m.local);
      expect(again).toMatchObject({ ok: false, code: "REJECTED", iwpmCode: 12 });
    }
    expect(agent.drainEvents("mapinfoRefused")).toEqual([]);
  });
});
