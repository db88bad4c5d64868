// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators, whose innerText() keeps the gaps between cells

// The replay page in Debian's Chromium, driven by playwright-core: open a capture (file picker,
// drag and drop, #capture=URL), check the message rows and the tables at two moments, and stay
// responsive on a capture of a million messages. Skipped, with the reason, without Chromium.

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebServer, type WebServer } from "../../src/cli/web.js";
import { makeScenario } from "../replay/scenario.js";
import { bigCapture } from "./big-capture.js";
import { type BrowserContext, launch, skipReason } from "./browser.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ARTIFACTS = path.join(ROOT, "test-artifacts");
if (skipReason) console.warn(`[web/page] skipped: ${skipReason}`);

describe.skipIf(skipReason !== undefined)("the replay page in Chromium", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "iwpm-page-"));
  const scenarioFile = path.join(dir, "scenario.pcap");
  let web: WebServer;
  let browser: Awaited<ReturnType<typeof launch>>;
  let context: BrowserContext;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    execFileSync(process.execPath, [path.join(ROOT, "build", "web.mjs")], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
    writeFileSync(scenarioFile, (await makeScenario()).pcap);
    web = await startWebServer({ root: path.join(ROOT, "build", "web"), port: 0, capture: scenarioFile });
    browser = await launch({ width: 1500, height: 900 });
    context = browser.context;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function page(url = `http://127.0.0.1:${web.port}/`) {
    const p = await context.newPage();
    p.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    p.on("pageerror", (e) => consoleErrors.push(String(e)));
    await p.goto(url);
    return p;
  }

  const rowText = (p: Awaited<ReturnType<typeof page>>, i: number) => p.locator(`.row[data-index="${i}"]`).innerText();

  it("opens a capture from the file picker: rows, details, and the tables at two moments", async () => {
    const p = await page();
    await p.setInputFiles("#picker", scenarioFile);
    await p.waitForSelector('body[data-status="ready"]');
    await p.waitForSelector('body[data-analysis="done"]');
    await expect.poll(() => p.locator("#summary").innerText()).toContain("25 messages (25 netlink, 0 peer) in 24 packets");
    // rows, with their summaries once the worker sent them
    await expect
      .poll(() => rowText(p, 5))
      .toMatch(/^#5\s+6\s+0\.020000\s+client→daemon\s+ADD_MAPPING request\s+c2\s+\d+\s+4321\s+→ #6 5\.000 ms\s+127\.0\.0\.1:5555 flags 0$/);
    expect(await rowText(p, 0)).toMatch(/daemon→client\s+HELLO/);
    // anomalies are marked on their rows: HANDLE_ERR (error), the stray reply (warning)
    expect(await p.locator('.row[data-index="11"]').getAttribute("class")).toContain("anom2");
    expect(await p.locator('.row[data-index="13"]').getAttribute("class")).toContain("anom1");

    // moment 1: after the QUERY request
    await p.fill("#at", "0.03");
    await p.press("#at", "Enter");
    await expect.poll(() => p.locator("#moment").innerText()).toBe("At 0.030000 s, after message #7");
    expect(await p.locator("#mappings tbody tr").allInnerTexts()).toEqual([
      expect.stringMatching(/^2\s+127\.0\.0\.1:5555\s+127\.0\.0\.1:40000\s+0\s+ADD_MAPPING/),
    ]);
    expect(await p.locator("#pending tbody tr").allInnerTexts()).toEqual([
      expect.stringMatching(/QUERY_MAPPING request\s+10\.0\.0\.1:6000 → 10\.0\.0\.2:7000/),
    ]);
    expect(await p.locator("#anomalies li").count()).toBe(0);
    expect(await p.locator("#daemon").innerText()).toContain("Daemon: port 1234, ABI 4");

    // moment 2: the end
    await p.fill("#at", "12.09");
    await p.press("#at", "Enter");
    await expect.poll(() => p.locator("#moment").innerText()).toBe("At 12.090000 s, after message #24");
    expect(await p.locator("#mappings tbody tr").count()).toBe(1);
    expect(await p.locator("#remote tbody tr").count()).toBe(2);
    expect(await p.locator("#pending tbody tr").allInnerTexts()).toEqual([
      expect.stringMatching(/ADD_MAPPING request\s+127\.0\.0\.1:6666.*timed out/),
    ]);
    expect(await p.locator("#anomalies li").allInnerTexts()).toEqual([
      expect.stringContaining("HANDLE_ERR IWPM_DUPLICATE_MAPPING_ERR"),
      expect.stringContaining("no such request in the capture"),
      expect.stringContaining("a new daemon"),
      expect.stringContaining("was never answered"),
    ]);
    expect(await p.locator("#daemon").innerText()).toContain("Daemon: port 2345");

    // clicking a row shows every field and moves the moment there
    await p.locator('.row[data-index="6"]').click();
    await expect.poll(() => p.locator("#detail").innerText()).toContain("mappedLocal");
    expect(await p.locator("#detail").innerText()).toMatch(/nlmsg_len\s+296/);
    await expect.poll(() => p.locator("#moment").innerText()).toBe("At 0.025000 s, after message #6");

    // the scrubber moves the moment too
    await p.locator("#scrub").fill("0");
    await expect.poll(() => p.locator("#moment").innerText()).toMatch(/^At 0\.000000 s, after message #1$/);

    await p.locator('.row[data-index="11"]').click();
    await p.fill("#at", "12.09");
    await p.press("#at", "Enter");
    await expect.poll(() => p.locator("#anomalies li").count()).toBe(4);
    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, "replay-page.png");
    await p.screenshot({ path: shot });
    if (process.env.IWPM_UPDATE_DOCS) copyFileSync(shot, path.join(ROOT, "docs", "replay-page.png"));
    expect(consoleErrors).toEqual([]);
    await p.close();
  });

  it("opens a capture made by `iwpm demo`: its rows and the tables at two moments", async () => {
    const demoFile = path.join(dir, "demo.pcap");
    const udpPort = String(20000 + Math.floor(Math.random() * 20000));
    execFileSync(process.execPath, [path.join(ROOT, "build", "dist", "cli.js"), "demo", "--udp-port", udpPort, "--capture", demoFile], {
      stdio: "ignore",
    });
    const p = await page();
    await p.setInputFiles("#picker", demoFile);
    await p.waitForSelector('body[data-status="ready"]');
    await p.waitForSelector('body[data-analysis="done"]');
    await expect.poll(() => p.locator("#summary").innerText()).toMatch(/^18 messages \(18 netlink, 0 peer\)/);
    await expect.poll(() => rowText(p, 0)).toMatch(/daemon→client\s+HELLO/);
    await expect.poll(() => rowText(p, 5)).toMatch(/client→daemon\s+ADD_MAPPING request[\s\S]*127\.0\.0\.1:5000 flags 0/);
    // after the first ADD_MAPPING reply: one mapping, nothing pending
    await p.locator('.row[data-index="6"]').click();
    await expect.poll(() => p.locator("#moment").innerText()).toMatch(/after message #6$/);
    expect(await p.locator("#mappings tbody tr").allInnerTexts()).toEqual([
      expect.stringMatching(/^2\s+127\.0\.0\.1:5000\s+127\.0\.0\.1:\d+/),
    ]);
    expect(await p.locator("#pending tbody tr").count()).toBe(0);
    // at the end: every mapping removed, the listener's REMOTE_INFO recorded, no anomaly
    await p.locator('.row[data-index="17"]').click();
    await expect.poll(() => p.locator("#moment").innerText()).toMatch(/after message #17$/);
    expect(await p.locator("#mappings tbody tr").count()).toBe(0);
    expect(await p.locator("#remote tbody tr").allInnerTexts()).toEqual([
      expect.stringMatching(/127\.0\.0\.1:5000[\s\S]*127\.0\.0\.1:6000/),
    ]);
    expect(await p.locator("#anomalies li").count()).toBe(0);
    expect(consoleErrors).toEqual([]);
    await p.close();
  });

  it("opens a dropped file and a #capture= URL", async () => {
    const p = await page();
    const bytes = [...(await makeScenario()).pcap];
    await p.evaluate((b) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(b)], "dropped.pcap"));
      window.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, bytes);
    await p.waitForSelector('body[data-status="ready"]');
    expect(await p.locator("#file").innerText()).toBe("dropped.pcap");
    expect(await p.locator("#summary").innerText()).toContain("25 messages");
    await p.close();

    const q = await page(web.url);
    await q.waitForSelector('body[data-status="ready"]');
    await q.waitForSelector('body[data-analysis="done"]');
    expect(await q.locator("#file").innerText()).toBe("scenario.pcap");
    await expect.poll(() => q.locator("#moment").innerText()).toBe("At 12.090000 s, after message #24");
    await q.close();
  });

  it("says what is wrong with a file that is not a capture", async () => {
    const p = await page();
    const bad = path.join(dir, "notes.pcap");
    writeFileSync(bad, "just some text, not a capture\n");
    await p.setInputFiles("#picker", bad);
    await p.waitForSelector('body[data-status="error"]');
    expect(await p.locator("#status").innerText()).toContain("not a pcap or pcapng file");
    await p.close();
    consoleErrors.length = 0;
  });

  it("stays responsive with a capture of a million messages", { timeout: 180_000 }, async () => {
    const big = path.join(dir, "million.pcap");
    writeFileSync(big, bigCapture(1_000_000));
    const p = await page();
    // The longest gap between timer ticks on the page's main thread while it loads.
    await p.evaluate(() => {
      const w = window as unknown as { __gap: number };
      w.__gap = 0;
      let last = performance.now();
      setInterval(() => {
        const now = performance.now();
        w.__gap = Math.max(w.__gap, now - last);
        last = now;
      }, 20);
    });
    const started = Date.now();
    await p.setInputFiles("#picker", big);
    // While decoding, the page answers at once and the list already shows rows.
    await p.waitForSelector('body[data-status="loading"]');
    await expect.poll(() => p.locator(".row[data-index]").count(), { timeout: 60_000 }).toBeGreaterThan(10);
    // the page answers while the worker decodes (how fast is logged, not asserted: the machine is shared)
    const t0 = Date.now();
    expect(await p.evaluate(() => document.body.dataset.status)).toBe("loading");
    const answerMs = Date.now() - t0;
    await p.waitForSelector('body[data-status="ready"]', { timeout: 150_000 });
    const loadMs = Date.now() - started;
    expect(await p.locator("#summary").innerText()).toContain("1,000,000 messages");
    // ready: every message listed, and the rows in view read from the worker
    expect(await p.locator("#count").innerText()).toBe("1,000,000 messages");
    await p.waitForSelector('#rows[data-pending="0"]');
    await p.waitForSelector('body[data-analysis="done"]', { timeout: 150_000 });
    const analysedMs = Date.now() - started;
    const gap = await p.evaluate(() => (window as unknown as { __gap: number }).__gap);
    const workerMs = Number(/Decoded in ([\d.]+) s/.exec(await p.locator("#status").innerText())?.[1]) * 1000;
    console.log(
      `[web/page] 1M messages: ready ${loadMs} ms after the file was picked (worker ${workerMs.toFixed(0)} ms), analysed ${analysedMs} ms, ` +
        `longest main-thread gap ${gap.toFixed(0)} ms, an evaluate during decoding answered in ${answerMs} ms`,
    );
    // only the rows in view are in the DOM
    expect(await p.locator("#rows .row").count()).toBeLessThan(100);
    // the end of the list
    await p.evaluate(() => {
      const v = document.getElementById("viewport") as HTMLElement;
      v.scrollTop = v.scrollHeight;
    });
    await expect.poll(() => p.locator('.row[data-index="999999"]').count()).toBe(1);
    // a moment in the middle: the tables are cut, the counts are whole
    await p.fill("#at", "0.5");
    await p.press("#at", "Enter");
    await expect.poll(() => p.locator("#moment").innerText(), { timeout: 20_000 }).toMatch(/^At 0\.500000 s, after message #\d+$/);
    expect(await p.locator("#mappings h3").innerText()).toMatch(/^Mappings \(\d{3},\d{3}\)$/);
    expect(await p.locator("#mappings tbody tr").count()).toBe(300);
    // the filter over all of it keeps what `iwpm decode -Y` keeps
    const expr = "op == REMOVE_MAPPING && seq > 500000";
    const cli = execFileSync(process.execPath, [path.join(ROOT, "build", "dist", "cli.js"), "decode", "-Y", expr, big], {
      encoding: "utf8",
      maxBuffer: 1 << 30,
    });
    const want = cli.split("\n").filter(Boolean);
    const f0 = Date.now();
    await p.fill("#filter", expr);
    await p.press("#filter", "Enter");
    await p.waitForSelector('body[data-filter="applied"]', { timeout: 60_000 });
    console.log(`[web/page] 1M messages: filter applied in ${Date.now() - f0} ms`);
    expect(await p.locator("#filter-status").innerText()).toBe(`${want.length.toLocaleString("en")} of 1,000,000 match`);
    const firstFrame = /^\s*(\d+)/.exec(want[0] as string)?.[1];
    await expect.poll(() => p.locator("#rows .row[data-index] .frame").first().innerText()).toBe(firstFrame);
    // End goes to the last message the filter keeps
    await p.locator("#rows .row[data-index]").first().click();
    await p.keyboard.press("End");
    await expect.poll(() => p.locator("#rows .row.selected .frame").innerText()).toBe(/^\s*(\d+)/.exec(want.at(-1) as string)?.[1]);
    await p.close();
  });
});
