// The examples in examples/ run as a user would run them: `node examples/<file>` inside a network
// namespace where the real iwpmd runs.

import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, randomClientPort } from "../support/agent.js";
import { type Iwpmd, startIwpmd } from "../support/iwpmd.js";
import { canUseNamespaces, createNamespace, type Netns } from "../support/netns.js";

const dir = fileURLToPath(new URL("../../examples/", import.meta.url));
const examples = readdirSync(dir).filter((f) => f.endsWith(".mjs"));
const cleanup: (() => Promise<void>)[] = [];

const support = canUseNamespaces();
if (!support.ok) console.warn(`[interop/examples] skipped: ${support.reason}`);

describe.skipIf(!support.ok)("examples", () => {
  beforeAll(() => {
    ensureBuilt();
  });
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
  });

  it.each(examples)("%s runs to completion against iwpmd", { timeout: 30_000 }, async (file) => {
    const ns: Netns = await createNamespace("iwpm-ex");
    cleanup.push(() => ns.destroy());
    const daemon: Iwpmd = await startIwpmd(ns, { clientPort: randomClientPort() });
    cleanup.push(() => daemon.stop());
    const out = await ns.exec(process.execPath, [`${dir}${file}`]);
    expect(out).toMatch(/\S/);
  });
});
