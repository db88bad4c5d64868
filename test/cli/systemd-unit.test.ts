// The shipped systemd unit as an operator installs it: the package installed globally (npm's
// default prefix /usr/local) into an empty root, the unit copied from the installed package into
// /etc/systemd/system there, and `systemd-analyze verify` on that root: every command and file
// the unit names must exist in it, so it names only what the package installs.

import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), "iwpm-unit-"));
const root = path.join(work, "root");
const hasAnalyze = spawnSync("systemd-analyze", ["--version"]).status === 0;
if (!hasAnalyze) console.warn("[cli/systemd-unit] skipped: systemd-analyze is missing (Debian package systemd)");

describe.skipIf(!hasAnalyze)("systemd/iwpm.service", () => {
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("passes systemd-analyze verify against a global install of the package, with iwpmd's hardening", { timeout: 240_000 }, () => {
    execFileSync("npm", ["pack", "--pack-destination", work], { cwd: ROOT, stdio: "ignore" });
    const tarball = readdirSync(work).find((f) => f.endsWith(".tgz")) as string;
    const prefix = path.join(root, "usr/local");
    execFileSync("npm", ["install", "-g", "--no-audit", "--no-fund", "--prefix", prefix, path.join(work, tarball)], { stdio: "ignore" });
    const units = path.join(root, "etc/systemd/system");
    mkdirSync(units, { recursive: true });
    const unit = path.join(units, "iwpm.service");
    copyFileSync(path.join(prefix, "lib/node_modules/iwpm/systemd/iwpm.service"), unit);

    const r = spawnSync("systemd-analyze", ["verify", `--root=${root}`, unit], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);

    const text = readFileSync(unit, "utf8");
    expect(text).toMatch(/^Type=notify$/m);
    expect(text).toMatch(/^ExecStart=\/usr\/local\/bin\/iwpm serve --systemd$/m);
    for (const hardening of [
      "LimitNOFILE=102400",
      "ProtectSystem=full",
      "ProtectHome=true",
      "ProtectHostname=true",
      "ProtectKernelLogs=true",
    ]) {
      expect(text).toContain(`\n${hardening}\n`);
    }
  });

  it("fails verification when the command it names is not installed", { timeout: 30_000 }, () => {
    const bare = path.join(work, "bare");
    mkdirSync(path.join(bare, "etc/systemd/system"), { recursive: true });
    const unit = path.join(bare, "etc/systemd/system/iwpm.service");
    copyFileSync(path.join(ROOT, "systemd/iwpm.service"), unit);
    const r = spawnSync("systemd-analyze", ["verify", `--root=${bare}`, unit], { encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/\/usr\/local\/bin\/iwpm/);
  });
});
