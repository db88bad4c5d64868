// Debian's Chromium driven by playwright-core, for the page tests: whether it can run here (the
// tests are skipped, with the reason, when not), and a headless persistent context.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const CHROMIUM = "/usr/bin/chromium";

export type Playwright = typeof import("playwright-core");
export type BrowserContext = Awaited<ReturnType<Playwright["chromium"]["launchPersistentContext"]>>;

let playwright: Playwright | undefined;
/** Why the browser tests cannot run, or undefined when they can. */
export let skipReason: string | undefined;
if (!existsSync(CHROMIUM)) skipReason = `${CHROMIUM} not found (apt-get install chromium)`;
else {
  try {
    playwright = await import("playwright-core");
  } catch {
    skipReason = "playwright-core is not installed (npm install)";
  }
}

const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A headless Chromium with a throw-away profile; `close` also removes the profile. */
export async function launch(viewport: { width: number; height: number }): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(path.join(tmpdir(), "iwpm-chromium-"));
  const context = await (playwright as Playwright).chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
