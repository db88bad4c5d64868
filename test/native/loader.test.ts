/**
 * The loader as an installed package meets it: a copy of the package layout in a temp directory
 * (the loader bundled to build/dist/ as `npm run build` bundles it, the C source in src/native/),
 * with or without the prebuilt binary, with or without a compiler on PATH. Each case runs in a
 * fresh Node process with its own XDG_CACHE_HOME.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./support.js";

const KEY = `linux-${process.arch}`;
const OTHER_KEY = KEY === "linux-x64" ? "linux-arm64" : "linux-x64";
const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
const EI_CLASS = 4;
const ELFCLASS64 = 2;
// e_machine: a u16 at offset 18 of the ELF header (elf.h EM_X86_64, EM_AARCH64).
const E_MACHINE = 18;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;

// Opens a socket through the bundled loader; reports whether the addon was mapped before opening.
const PROBE = `
import { readFileSync } from "node:fs";
const mapped = () => readFileSync("/proc/self/maps", "utf8").includes("iwpm_native");
const { NativeNetlinkSocket } = await import("./build/dist/native-entry.js");
const before = mapped();
try {
  const s = NativeNetlinkSocket.open();
  console.log(JSON.stringify({ ok: true, port: s.port, before, after: mapped() }));
  s.close();
} catch (err) {
  console.log(JSON.stringify({ ok: false, code: err.code, message: err.message, before }));
}
`;

interface Probe {
  ok: boolean;
  port?: number;
  code?: string;
  message?: string;
  before: boolean;
  after?: boolean;
}

let bundle: string;

beforeAll(async () => {
  const out = await build({
    entryPoints: [join(ROOT, "src", "host", "native-node.ts")],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    write: false,
    logLevel: "silent",
  });
  bundle = out.outputFiles[0].text;
});

/** A package layout in a temp dir: the bundle and the C source; `prebuilt` copies one binary in. */
function packageCopy(prebuilt?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "iwpm-loader-"));
  mkdirSync(join(dir, "build", "dist"), { recursive: true });
  writeFileSync(join(dir, "build", "dist", "native-entry.js"), bundle);
  mkdirSync(join(dir, "src", "native"), { recursive: true });
  for (const file of ["iwpm_native.c", "layout.h"]) copyFileSync(join(ROOT, "src", "native", file), join(dir, "src", "native", file));
  if (prebuilt !== undefined) {
    mkdirSync(join(dir, "build", "native", KEY), { recursive: true });
    copyFileSync(prebuilt, join(dir, "build", "native", KEY, "iwpm_native.node"));
  }
  writeFileSync(join(dir, "probe.mjs"), PROBE);
  return dir;
}

function probe(dir: string, env: Record<string, string>): Probe {
  const out = execFileSync(process.execPath, [join(dir, "probe.mjs")], { cwd: dir, env: { ...process.env, ...env }, encoding: "utf8" });
  return JSON.parse(out) as Probe;
}

const cacheBuilds = (cache: string) => (existsSync(join(cache, "iwpm")) ? readdirSync(join(cache, "iwpm")) : []);

describe("the native loader", () => {
  it("uses the prebuilt binary, needs no compiler, and maps no native code before a socket opens", () => {
    const dir = packageCopy(join(ROOT, "build", "native", KEY, "iwpm_native.node"));
    const cache = join(dir, "cache");
    const result = probe(dir, { XDG_CACHE_HOME: cache, PATH: join(dir, "empty") });
    expect(result).toMatchObject({ ok: true, before: false, after: true });
    expect(cacheBuilds(cache)).toEqual([]);
  });

  it("builds the addon once into XDG_CACHE_HOME when no prebuilt binary is there", () => {
    const dir = packageCopy();
    const cache = join(dir, "cache");
    expect(probe(dir, { XDG_CACHE_HOME: cache })).toMatchObject({ ok: true, before: false, after: true });
    const builds = cacheBuilds(cache);
    expect(builds).toHaveLength(1);
    expect(builds[0]).toMatch(new RegExp(`^${KEY}-[0-9a-f]{16}$`));
    // The second process loads the cached build: it needs no compiler any more.
    expect(probe(dir, { XDG_CACHE_HOME: cache, PATH: join(dir, "empty") })).toMatchObject({ ok: true });
  });

  it("builds its own when the prebuilt binary does not load (here: another architecture's)", () => {
    const dir = packageCopy(join(ROOT, "build", "native", OTHER_KEY, "iwpm_native.node"));
    const cache = join(dir, "cache");
    expect(probe(dir, { XDG_CACHE_HOME: cache })).toMatchObject({ ok: true });
    expect(cacheBuilds(cache)).toHaveLength(1);
  });

  it("says NATIVE_UNAVAILABLE, naming the missing prebuilt and `cc`, when it cannot build", () => {
    const dir = packageCopy();
    const result = probe(dir, { XDG_CACHE_HOME: join(dir, "cache"), PATH: join(dir, "empty") });
    expect(result.ok).toBe(false);
    expect(result.code).toBe("NATIVE_UNAVAILABLE");
    expect(result.message).toContain(`no prebuilt binary for ${KEY}`);
    expect(result.message).toContain("no C compiler `cc` on PATH");
    expect(result.message).toMatch(/To fix: install a C compiler/);
  });
});

describe("the prebuilt binaries", () => {
  const machine = (key: string) => {
    const elf = readFileSync(join(ROOT, "build", "native", key, "iwpm_native.node"));
    expect([...elf.subarray(0, ELF_MAGIC.length)]).toEqual(ELF_MAGIC);
    expect(elf[EI_CLASS]).toBe(ELFCLASS64);
    return elf.readUInt16LE(E_MACHINE);
  };

  it("are built for x86-64 and for aarch64", () => {
    expect(machine("linux-x64")).toBe(EM_X86_64);
    expect(machine("linux-arm64")).toBe(EM_AARCH64);
  });
});
