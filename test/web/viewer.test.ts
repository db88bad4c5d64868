// The capture viewer in Debian's Chromium against the CLI on the same files: opening a second
// capture leaves nothing of the first, the filter box keeps exactly the frames `iwpm decode -Y`
// prints, the hex pane highlights the byte ranges `iwpm decode -x` reports (and back), a request
// leads to its reply, the keys move the selection, the time column follows `-t`, two captures
// merge as `iwpm decode A B` merges them, and at 1280×800 every value is readable.

import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebServer, type WebServer } from "../../src/cli/web.js";
import { makeScenario } from "../replay/scenario.js";
import { bigCapture } from "./big-capture.js";
import { type BrowserContext, launch, skipReason } from "./browser.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = path.join(ROOT, "build", "dist", "cli.js");
const ARTIFACTS = path.join(ROOT, "test-artifacts");
/** Messages in the capture that is still decoding when the next one is opened: several slices of the worker's reads. */
const BIG = 300_000;
if (skipReason) console.warn(`[web/viewer] skipped: ${skipReason}`);

/** `iwpm decode ARGS`: its stdout lines. */
function decode(...args: string[]): string[] {
  return execFileSync(process.execPath, [CLI, "decode", ...args], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
}

interface Line {
  frame: string;
  time: string;
  file?: string;
  text: string;
}

const MESSAGE_LINE = /^\s*(\d+(?:\.\d+)?)\s+(\S+)\s+(?:(\S+)\s+)?(client→daemon|daemon→client|peer)\s/;

/** The message lines of `iwpm decode` output (not the -x lines under them). */
function messageLines(lines: string[], tagged = false): Line[] {
  const out: Line[] = [];
  for (const l of lines) {
    const m = MESSAGE_LINE.exec(l);
    if (m === null) continue;
    if (tagged !== (m[3] !== undefined)) throw new Error(`unexpected decode line: ${l}`);
    out.push({ frame: m[1] as string, time: m[2] as string, ...(m[3] ? { file: m[3] } : {}), text: l });
  }
  return out;
}

const squash = (s: string) => s.replace(/\s+/g, " ").trim();

describe.skipIf(skipReason !== undefined)("the capture viewer in Chromium, against the CLI", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "iwpm-viewer-"));
  const scenarioFile = path.join(dir, "scenario.pcap");
  const demoFile = path.join(dir, "demo.pcap");
  const bigFile = path.join(dir, "big.pcap");
  let web: WebServer;
  let browser: Awaited<ReturnType<typeof launch>>;
  let context: BrowserContext;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    execFileSync(process.execPath, [path.join(ROOT, "build", "web.mjs")], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
    writeFileSync(scenarioFile, (await makeScenario()).pcap);
    writeFileSync(bigFile, bigCapture(BIG));
    const udpPort = String(20000 + Math.floor(Math.random() * 20000));
    execFileSync(process.execPath, [CLI, "demo", "--udp-port", udpPort, "--capture", demoFile], { stdio: "ignore" });
    web = await startWebServer({ root: path.join(ROOT, "build", "web"), port: 0 });
    browser = await launch({ width: 1500, height: 900 });
    context = browser.context;
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A new page; `cpus` is the logical CPU count it sees (whether the replay runs beside the listing). */
  async function page(size?: { width: number; height: number }, cpus?: number): Promise<Page> {
    const p = await context.newPage();
    if (size) await p.setViewportSize(size);
    if (cpus !== undefined) await p.addInitScript((n) => Object.defineProperty(navigator, "hardwareConcurrency", { get: () => n }), cpus);
    p.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    p.on("pageerror", (e) => consoleErrors.push(String(e)));
    await p.goto(`http://127.0.0.1:${web.port}/`);
    return p;
  }

  async function open(p: Page, files: string | string[], messages: number): Promise<void> {
    await p.setInputFiles("#picker", files);
    await p.waitForSelector('body[data-status="ready"]');
    await expect.poll(() => p.locator("#count").textContent()).toBe(`${messages} messages`);
    // the replay beside the list: anomalies, reply links and the state
    await p.waitForSelector('body[data-analysis="done"]');
    // every row in view has its text from the worker
    await p.waitForSelector('#rows[data-pending="0"]');
  }

  /** The text of one cell of every row in the DOM with a message, top to bottom. */
  const cells = (p: Page, key: string) =>
    p.locator(`#rows .row[data-index] .${key}`).evaluateAll((els) => els.map((e) => e.textContent ?? ""));
  const selectedIndex = async (p: Page) => Number(await p.locator("#rows .row.selected").getAttribute("data-index"));

  it("opening a second capture leaves nothing of the first", async () => {
    const p = await page();
    await open(p, scenarioFile, 25);
    const demoText = decode(demoFile).join("\n");
    // What only the first capture says, as the page showed it.
    const onlyA = (await cells(p, "sum")).filter((t) => t !== "" && !demoText.includes(t));
    expect(onlyA.length).toBeGreaterThan(10);
    // leave state behind: a selection with details and bytes, an applied filter, a scrolled list
    await p.locator('.row[data-index="11"]').click();
    await expect.poll(() => p.locator("#ranges li").count()).toBeGreaterThan(0);
    await p.fill("#filter", "op == ADD_MAPPING || anomaly");
    await p.press("#filter", "Enter");
    await p.waitForSelector('body[data-filter="applied"]');

    const check = async () => {
      const body = await p.evaluate(() => document.body.textContent ?? "");
      for (const t of onlyA) expect(body).not.toContain(t);
      expect(body).not.toContain("scenario.pcap");
      expect(await p.locator("#rows .row[data-index]").count()).toBe(18);
      expect(await p.locator("#rows .row.selected").count()).toBe(0);
      expect(await p.locator("#rows .row.anom").count()).toBe(0); // the demo capture has no anomaly
      expect(await p.locator("#detail, #hex").evaluateAll((els) => els.map((e) => e.childElementCount))).toEqual([0, 0]);
      expect(await p.inputValue("#filter")).toBe("");
      expect(await p.locator("#file").textContent()).toBe("demo.pcap");
      await expect
        .poll(() => p.locator("#moment").textContent())
        .toBe(`At ${messageLines(decode(demoFile)).at(-1)?.time} s, after message #17`);
      expect(await p.locator("#anomalies li").count()).toBe(0);
    };
    await open(p, demoFile, 18);
    await check();

    // B right after A, before A is even decoded: A's late answers must not show
    await p.setInputFiles("#picker", scenarioFile);
    await open(p, demoFile, 18);
    await check();

    // B while a large A is still decoding, its rows already on screen and more of them on the way
    await p.setInputFiles("#picker", bigFile);
    await p.waitForSelector('body[data-status="loading"]');
    await expect.poll(() => p.locator("#rows .row[data-index]").count()).toBeGreaterThan(10);
    await open(p, demoFile, 18);
    await check();
    // what A's worker had sent before it heard of B arrives after B is shown: still nothing of A
    await p.evaluate(() => new Promise((resolve) => setTimeout(resolve, 500)));
    await check();
    expect(await p.evaluate(() => document.body.textContent)).not.toMatch(/10\.0\.0\.\d+:5000|big\.pcap/);
    expect(consoleErrors).toEqual([]);
    await p.close();
  });

  it.each([
    ["after the listing", 2],
    ["beside the listing", 8],
  ])(
    "is ready once every message is listed; with the replay %s, a filter on anomalies asked for before it ends waits for it",
    async (_, cpus) => {
      const p = await page(undefined, cpus);
      await p.setInputFiles("#picker", bigFile);
      await p.waitForSelector('body[data-status="ready"]');
      // ready: the whole list, and the rows in view read, whether the replay beside it has ended or not
      expect(await p.locator("#count").textContent()).toBe(`${BIG.toLocaleString("en")} messages`);
      await p.waitForSelector('#rows[data-pending="0"]');
      expect(await p.locator("#status").textContent()).toMatch(/^Decoded in [\d.]+ s · (analysing…|analysed in [\d.]+ s)/);
      // a request selected now: its details link its reply once the replay knows it
      await p.locator('.row[data-index="2"]').click();
      await expect.poll(() => p.locator("#detail h3").textContent()).toBe("#2 ADD_MAPPING request");
      const want = messageLines(decode("-Y", "anomaly", bigFile)).map((l) => l.frame);
      expect(want.length).toBeGreaterThan(0);
      await p.fill("#filter", "anomaly");
      await p.press("#filter", "Enter");
      await p.waitForSelector('body[data-filter="applied"]', { timeout: 60_000 });
      expect(await p.locator("#filter-status").textContent()).toBe(`${want.length} of ${BIG.toLocaleString("en")} match`);
      await expect.poll(() => cells(p, "frame")).toEqual(want);
      await p.waitForSelector('body[data-analysis="done"]');
      expect(await p.locator("#status").textContent()).toMatch(/^Decoded in [\d.]+ s · analysed in [\d.]+ s$/);
      await expect.poll(() => p.locator("#follow").textContent()).toMatch(/^answered by message #3, /);
      expect(await p.locator("#summary").textContent()).toMatch(/ · \d+ anomalies$/);
      expect(consoleErrors).toEqual([]);
      await p.close();
    },
  );

  it("the filter keeps exactly the frames `iwpm decode -Y` prints, and says what is wrong with a bad one", async () => {
    const p = await page();
    const expressions = [
      "op == ADD_MAPPING",
      "dir == to_client && !(op == HELLO)",
      "anomaly",
      "addr == 127.0.0.1:5555 || seq < 3",
      "anomaly == unanswered || err",
    ];
    for (const file of [scenarioFile, demoFile]) {
      await open(p, file, file === scenarioFile ? 25 : 18);
      for (const expr of expressions) {
        const want = messageLines(decode("-Y", expr, file)).map((l) => l.frame);
        await p.fill("#filter", expr);
        await p.press("#filter", "Enter");
        await expect.poll(() => p.locator("#filter-status").textContent()).toMatch(/ match$/);
        expect(await p.locator("#filter-status").textContent()).toBe(`${want.length} of ${file === scenarioFile ? 25 : 18} match`);
        await expect.poll(() => cells(p, "frame"), { message: expr }).toEqual(want);
        // rows out of use are not on screen, nor any mark of theirs
        expect(await p.locator("#rows .row:visible").count()).toBe(want.length);
      }
    }
    // at least one expression left some rows out and kept others, on the file shown
    expect(messageLines(decode("-Y", expressions[0] as string, demoFile)).length).toBeGreaterThan(0);

    const bad = "op == ADD_MAPPING &&";
    const cli = spawnSync(process.execPath, [CLI, "decode", "-Y", bad, demoFile], { encoding: "utf8" });
    expect(cli.status).toBe(2);
    const why = /bad --filter: (.*)/.exec(cli.stderr)?.[1] as string;
    expect(why).toContain("position");
    await p.fill("#filter", bad);
    await p.press("#filter", "Enter");
    await expect.poll(() => p.locator("#filter-status").textContent()).toBe(`Not a filter: ${why}`);
    expect(await p.getAttribute("#filter", "aria-invalid")).toBe("true");
    // the list is the last good filter's, untouched
    expect(await cells(p, "frame")).toEqual(messageLines(decode("-Y", expressions.at(-1) as string, demoFile)).map((l) => l.frame));
    await p.click("#filter-clear");
    await expect.poll(() => p.locator("#rows .row[data-index]").count()).toBe(18);
    expect(consoleErrors).toEqual([]);
    await p.close();
  });

  it("the hex pane shows the bytes and ranges of `iwpm decode -x`; a field highlights its bytes and a byte its field", async () => {
    const p = await page();
    await open(p, demoFile, 18);
    const x = decode("-x", demoFile);
    const lines = messageLines(x);
    // the first QUERY_MAPPING request: several attributes
    const line = lines.find((l) => /QUERY_MAPPING request/.test(l.text)) as Line;
    const index = lines.indexOf(line);
    const start = x.indexOf(line.text);
    const block: string[] = [];
    for (const l of x.slice(start + 1)) {
      if (l.trim() === "" || MESSAGE_LINE.test(l)) break;
      block.push(l);
    }
    const hexRows = block
      .filter((l) => /^\s+[0-9a-f]{4} {2}/.test(l))
      .map((l) =>
        (
          l
            .trim()
            .slice(6, 6 + 16 * 3 + 1)
            .match(/[0-9a-f]{2}/g) ?? []
        ).join(""),
      );
    const ranges = block
      .map((l) => /^\s+(\d+)-(\d+)\s+(.*)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => ({ from: Number(m[1]), to: Number(m[2]), label: squash(m[3] as string) }));
    expect(ranges.length).toBeGreaterThan(6);

    await p.locator(`.row[data-index="${index}"]`).click();
    await expect.poll(() => p.locator("#hex h3").textContent()).toMatch(/^Bytes \(\d+\)$/);
    const pageHex = (await p.locator("#hex .b").evaluateAll((els) => els.map((e) => e.textContent))).join("");
    expect(pageHex).toBe(hexRows.join(""));
    const items = p.locator("#ranges li");
    expect(await items.count()).toBe(ranges.length);
    const highlighted = async () => {
      const offs = await p.locator("#hex .b.hl").evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.o)));
      return offs.length === 0 ? null : { from: Math.min(...offs), to: Math.max(...offs), n: offs.length };
    };
    for (const [k, r] of ranges.entries()) {
      // a field → its bytes
      await items.nth(k).click();
      expect(squash((await items.nth(k).textContent()) ?? "")).toBe(`${r.from}-${r.to} ${r.label}`);
      expect(await highlighted()).toEqual({ from: r.from, to: r.to, n: r.to - r.from + 1 });
      expect(await p.locator("#ranges li.hl").count()).toBe(1);
      // a byte, in hex or as text → its field (the last byte, so a field that starts where another ends is not mistaken)
      for (const kind of ["b", "c"]) {
        await p.locator(`#hex .${kind}[data-o="${r.to}"]`).click();
        expect(squash((await p.locator("#ranges li.hl").textContent()) ?? "")).toBe(`${r.from}-${r.to} ${r.label}`);
        expect(await highlighted()).toEqual({ from: r.from, to: r.to, n: r.to - r.from + 1 });
      }
    }
    // a header field named in the details highlights the same bytes
    await p.locator("#detail dt.linked", { hasText: "nlmsg_seq" }).click();
    expect(await highlighted()).toEqual({ from: 8, to: 11, n: 4 });
    await p.close();
  });

  it("follows a request to its reply and back, with the time between them, also past the filter", async () => {
    const p = await page();
    await open(p, demoFile, 18);
    const lines = messageLines(decode(demoFile));
    const req = lines.findIndex((l) => /ADD_MAPPING request/.test(l.text));
    const seq = /seq (\d+)/.exec((lines[req] as Line).text)?.[1] as string;
    await p.locator(`.row[data-index="${req}"]`).click();
    await p.keyboard.press("Enter");
    await expect.poll(() => selectedIndex(p)).not.toBe(req);
    const reply = await selectedIndex(p);
    const replyLine = lines[reply] as Line;
    // the row it lands on answers that seq, as the CLI prints it
    expect(replyLine.text).toMatch(new RegExp(`ADD_MAPPING reply .* for seq ${seq}:`));
    const sel = p.locator("#rows .row.selected");
    expect(await sel.locator(".sum").textContent()).toContain(`for seq ${seq}:`);
    // the time between them, from the CLI's nanosecond timestamps (-t e)
    const epoch = messageLines(decode("-t", "e", demoFile)).map((l) => {
      const [sec, nsec] = l.time.split(".") as [string, string];
      return BigInt(sec) * 1_000_000_000n + BigInt(nsec);
    });
    const ns = Number((epoch[reply] as bigint) - (epoch[req] as bigint));
    const ms = ns < 1e6 ? `${(ns / 1e3).toFixed(0)} µs` : `${(ns / 1e6).toFixed(3)} ms`;
    expect(await sel.locator(".reply").textContent()).toBe(`← #${req} ${ms}`);
    expect(await p.locator(`.row[data-index="${req}"] .reply`).textContent()).toBe(`→ #${reply} ${ms}`);
    expect(await p.locator("#follow").textContent()).toBe(`answers message #${req}, ${ms} earlier`);
    // and back, with the mouse on the reply cell
    await sel.locator(".reply").click();
    await expect.poll(() => selectedIndex(p)).toBe(req);

    // the reply is hidden by a filter: following it shows it
    await p.fill("#filter", "dir == to_daemon");
    await p.press("#filter", "Enter");
    await p.waitForSelector('body[data-filter="applied"]');
    await expect.poll(() => p.locator(`.row[data-index="${reply}"]`).count()).toBe(0);
    await p.locator("#follow").click();
    await expect.poll(() => selectedIndex(p)).toBe(reply);
    await p.close();
  });

  it("Home, End, PgUp, PgDn, j, k and the arrows move the selection within what the filter shows", async () => {
    const p = await page({ width: 1280, height: 500 });
    await open(p, scenarioFile, 25);
    await p.locator('.row[data-index="3"]').click();
    const press = async (key: string) => {
      await p.keyboard.press(key);
      return selectedIndex(p);
    };
    expect(await press("j")).toBe(4);
    expect(await press("ArrowDown")).toBe(5);
    expect(await press("k")).toBe(4);
    expect(await press("ArrowUp")).toBe(3);
    expect(await press("End")).toBe(24);
    await expect.poll(() => p.locator('.row[data-index="24"]').isVisible()).toBe(true);
    const visible = await p.locator("#rows .row[data-index]").count();
    expect(visible).toBeLessThan(25); // the window is short: paging moves by a screen
    const up = await press("PageUp");
    expect(up).toBeLessThan(23);
    expect(up).toBeGreaterThan(24 - visible);
    expect(await press("PageDown")).toBe(24);
    expect(await press("Home")).toBe(0);
    await expect.poll(() => p.locator('.row[data-index="0"]').isVisible()).toBe(true);
    // with a filter, j goes to the next message it keeps
    const kept = messageLines(decode("-Y", "dir == to_client", scenarioFile));
    const all = messageLines(decode(scenarioFile));
    const keptIdx = kept.map((l) => all.findIndex((a) => a.text === l.text));
    await p.fill("#filter", "dir == to_client");
    await p.press("#filter", "Enter");
    await p.waitForSelector('body[data-filter="applied"]');
    await p.locator(`.row[data-index="${keptIdx[1]}"]`).click();
    expect(await press("j")).toBe(keptIdx[2]);
    expect(await press("End")).toBe(keptIdx.at(-1));
    expect(await press("Home")).toBe(keptIdx[0]);
    await p.close();
  });

  it("the time column shows what `iwpm decode -t` shows", async () => {
    const p = await page();
    await open(p, demoFile, 18);
    for (const t of ["r", "d", "a", "e"]) {
      await p.selectOption("#timefmt", t);
      const want = messageLines(decode("-t", t, demoFile)).map((l) => l.time);
      await expect.poll(() => cells(p, "time"), { message: `-t ${t}` }).toEqual(want);
    }
    // "since the previous one shown" counts from the rows the filter keeps
    await p.fill("#filter", "dir == to_daemon");
    await p.press("#filter", "Enter");
    await p.waitForSelector('body[data-filter="applied"]');
    await p.selectOption("#timefmt", "dd");
    await expect
      .poll(() => cells(p, "time"))
      .toEqual(messageLines(decode("-t", "dd", "-Y", "dir == to_daemon", demoFile)).map((l) => l.time));
    await p.close();
  });

  it("opens two captures as one timeline merged as `iwpm decode A B` merges them", async () => {
    const p = await page({ width: 1500, height: 1400 }); // every row in view at once
    await open(p, [scenarioFile, demoFile], 43);
    const want = messageLines(decode(scenarioFile, demoFile), true);
    await expect.poll(() => p.locator("#rows .row[data-index]").count()).toBe(43);
    expect(await cells(p, "file")).toEqual(want.map((l) => l.file));
    expect(await cells(p, "frame")).toEqual(want.map((l) => l.frame));
    expect(await cells(p, "time")).toEqual(want.map((l) => l.time));
    expect(await p.locator("#summary").textContent()).toMatch(
      /^43 messages \(43 netlink, 0 peer\) in \d+ packets from 2 captures merged by time/,
    );
    // the filter's file and anomaly fields, as in the CLI
    for (const e of ["anomaly", "anomaly == daemon-restart || file == demo.pcap && op == HELLO"]) {
      await p.fill("#filter", e);
      await p.press("#filter", "Enter");
      const w = messageLines(decode("-Y", e, scenarioFile, demoFile), true);
      await expect.poll(() => p.locator("#filter-status").textContent()).toBe(`${w.length} of 43 match`);
      await expect.poll(() => cells(p, "frame"), { message: e }).toEqual(w.map((l) => l.frame));
      expect(await cells(p, "file")).toEqual(w.map((l) => l.file));
    }
    const expr = "file == demo.pcap && op == ADD_MAPPING";
    await p.fill("#filter", expr);
    await p.press("#filter", "Enter");
    await p.waitForSelector('body[data-filter="applied"]');
    const filteredWant = messageLines(decode("-Y", expr, scenarioFile, demoFile), true);
    expect(filteredWant.length).toBeGreaterThan(0);
    await expect.poll(() => cells(p, "frame")).toEqual(filteredWant.map((l) => l.frame));
    expect(await cells(p, "file")).toEqual(filteredWant.map((l) => l.file));

    // the picture for the docs: a request's bytes, one attribute highlighted
    await p.setViewportSize({ width: 1500, height: 900 });
    await p.fill("#filter", "op == ADD_MAPPING || anomaly");
    await p.press("#filter", "Enter");
    await expect.poll(() => p.locator("#rows .row[data-index]").count()).toBeGreaterThan(filteredWant.length);
    await p.locator("#rows .row[data-index]").nth(2).click();
    await expect.poll(() => p.locator("#ranges li").count()).toBeGreaterThan(6);
    await p.locator("#ranges li").nth(6).click();
    const shot = path.join(ARTIFACTS, "viewer-merged.png");
    await p.screenshot({ path: shot });
    if (process.env.IWPM_UPDATE_DOCS) copyFileSync(shot, path.join(ROOT, "docs", "viewer-page.png"));
    await p.close();
  });

  it("at 1280×800 every value is readable: it fits, or its cell's title holds it", async () => {
    const p = await page({ width: 1280, height: 800 });
    await open(p, scenarioFile, 25);
    await p.locator('.row[data-index="9"]').click();
    await expect.poll(() => p.locator("#ranges li").count()).toBeGreaterThan(0);
    await p.fill("#at", "12.09");
    await p.press("#at", "Enter");
    await expect.poll(() => p.locator("#anomalies li").count()).toBe(4);
    const unreadable = () =>
      p.evaluate(() => {
        const out: string[] = [];
        const sel =
          "#rows .row:not([hidden]) > span:not([hidden]), .head > span, aside td, aside th, aside li, aside dd, aside dt, aside h2, aside h3, aside p, #summary, #status, #count";
        for (const el of document.querySelectorAll<HTMLElement>(sel)) {
          const text = el.textContent ?? "";
          if (text === "") continue;
          // a cut value must be in its title; a whole one may be in a scrolled box, which can be scrolled to
          const cut = el.scrollWidth > el.clientWidth + 1;
          if (cut && !(el.title ?? "").includes(text)) out.push(`${el.className || el.tagName}: ${text}`);
        }
        const page = document.documentElement;
        if (page.scrollWidth > page.clientWidth) out.push(`the page scrolls sideways: ${page.scrollWidth} > ${page.clientWidth}`);
        return out;
      });
    expect(await unreadable()).toEqual([]);
    // the summary and pid of every row: the whole value is its title (the hover text)
    for (const key of ["sum", "pid", "seq", "reply"]) {
      const pairs = await p
        .locator(`#rows .row[data-index] .${key}`)
        .evaluateAll((els) => els.map((e) => [(e as HTMLElement).title, e.textContent]));
      for (const [title, text] of pairs) expect(title.startsWith(text as string)).toBe(true);
    }
    // the summary column was cut at this width: proves the check above had something to check
    const cut = await p
      .locator("#rows .row[data-index] .sum")
      .evaluateAll((els) => els.filter((e) => e.scrollWidth > e.clientWidth).length);
    expect(cut).toBeGreaterThan(0);
    await p.screenshot({ path: path.join(ARTIFACTS, "viewer-1280x800.png") });

    // the splitter gives the list what the details side gives up
    const sum0 = (await p.locator('#rows .row[data-index="0"] .sum').boundingBox())?.width as number;
    const aside0 = (await p.locator("aside").boundingBox())?.width as number;
    const split = (await p.locator("#split").boundingBox()) as { x: number; y: number; width: number; height: number };
    await p.mouse.move(split.x + split.width / 2, split.y + 100);
    await p.mouse.down();
    await p.mouse.move(split.x + split.width / 2 + 100, split.y + 100, { steps: 4 });
    await p.mouse.up();
    expect((await p.locator("aside").boundingBox())?.width).toBeCloseTo(aside0 - 100, 0);
    expect((await p.locator('#rows .row[data-index="0"] .sum').boundingBox())?.width).toBeCloseTo(sum0 + 100, 0);
    expect(await unreadable()).toEqual([]);

    // dragging a column's edge widens it
    const pid = p.locator(".head .pid");
    const before = (await pid.boundingBox())?.width as number;
    const grip = (await p.locator(".head .pid .grip").boundingBox()) as { x: number; y: number; width: number; height: number };
    await p.mouse.move(grip.x + grip.width / 2, grip.y + grip.height / 2);
    await p.mouse.down();
    await p.mouse.move(grip.x + grip.width / 2 + 60, grip.y + grip.height / 2, { steps: 4 });
    await p.mouse.up();
    const after = (await pid.boundingBox())?.width as number;
    expect(after).toBeCloseTo(before + 60, 0);
    const rowPid = (await p.locator('#rows .row[data-index="0"] .pid').boundingBox())?.width as number;
    expect(rowPid).toBeCloseTo(after, 0);
    expect(await unreadable()).toEqual([]);

    // the time as UTC dates, the widest the column gets, stays readable
    await p.selectOption("#timefmt", "a");
    expect(await unreadable()).toEqual([]);
    await p.screenshot({ path: path.join(ARTIFACTS, "viewer-1280x800-utc.png") });

    // two captures merged, filtered, a message's bytes
    await p.selectOption("#timefmt", "r");
    await open(p, [scenarioFile, demoFile], 43);
    await p.fill("#filter", "op == ADD_MAPPING || anomaly");
    await p.press("#filter", "Enter");
    await p.waitForSelector('body[data-filter="applied"]');
    await p.locator("#rows .row[data-index]").nth(2).click();
    await expect.poll(() => p.locator("#ranges li").count()).toBeGreaterThan(0);
    await p.locator("#ranges li").nth(6).click();
    expect(await unreadable()).toEqual([]);
    await p.screenshot({ path: path.join(ARTIFACTS, "viewer-1280x800-merged.png") });
    expect(consoleErrors).toEqual([]);
    await p.close();
  });
});
