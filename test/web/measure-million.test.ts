// How long the page takes to be ready on a capture of a million messages, in Chromium: a
// measurement, not a test (it asserts nothing about time). Run it on its own, on a quiet machine:
//   IWPM_MEASURE=1 npx vitest run test/web/measure-million.test.ts
// It prints, per run, the time from picking the file to the page being ready (every message
// listed: the user can scroll and read every row), the time to the end of the analysis beside
// it (the state over time rebuilt, anomalies and reply links known), and the machine's load.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { startWebServer } from "../../src/cli/web.js";
import { bigCapture } from "./big-capture.js";
import { launch, skipReason } from "./browser.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MESSAGES = 1_000_000;
const RUNS = Number(process.env.IWPM_MEASURE_RUNS ?? 3);

describe.skipIf(skipReason !== undefined || !process.env.IWPM_MEASURE)("the page on a million messages (IWPM_MEASURE=1)", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "iwpm-measure-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("time to ready", { timeout: 600_000 }, async () => {
    execFileSync(process.execPath, [path.join(ROOT, "build", "web.mjs")], { cwd: ROOT, stdio: "ignore" });
    const file = path.join(dir, "million.pcap");
    writeFileSync(file, bigCapture(MESSAGES));
    const web = await startWebServer({ root: path.join(ROOT, "build", "web"), port: 0 });
    const browser = await launch({ width: 1280, height: 800 });
    try {
      for (let run = 1; run <= RUNS; run++) {
        const p = await browser.context.newPage();
        await p.goto(`http://127.0.0.1:${web.port}/`);
        const load = loadavg()[0] as number;
        const started = Date.now();
        await p.setInputFiles("#picker", file);
        await p.waitForSelector('body[data-status="ready"]', { timeout: 300_000 });
        const ready = Date.now() - started;
        expect(await p.locator("#count").textContent()).toBe(`${MESSAGES.toLocaleString("en")} messages`);
        await p.waitForSelector('body[data-analysis="done"]', { timeout: 300_000 });
        const analysed = Date.now() - started;
        const status = await p.locator("#status").textContent();
        console.log(
          `[measure] run ${run}: ready ${ready} ms after the file was picked, analysed ${analysed} ms (page: "${status}"), ` +
            `load average ${load.toFixed(2)} on ${cpus().length} CPUs`,
        );
        await p.close();
      }
    } finally {
      await browser.close();
      await web.close();
    }
  });
});
