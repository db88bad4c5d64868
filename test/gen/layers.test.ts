// The layers of src/ point down only (docs/design.md "Layers"): every import of every source file
// is checked against what its layer may not reach, and src/api reads no byte offsets (it goes
// through the core's typed accessors and the generated readers).

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));

/** Top-level files of src/: the package's entries and the hosts' openers, above every layer. */
const ENTRY = "(entry)";

/** What each layer must not import. */
const FORBIDDEN: Record<string, readonly string[]> = {
  core: ["api", "host", "service", "cli", "capture", "replay", "web", ENTRY],
  host: ["api", "service", "cli", "capture", "replay", "web", ENTRY],
  api: ["cli", "service", "capture", "replay", "web", ENTRY],
};

/** The layer of a path under src/: its first directory, or ENTRY for a top-level file. */
function layerOf(relative: string): string {
  const parts = relative.split("/");
  return parts.length === 1 ? ENTRY : (parts[0] as string);
}

/** Every module specifier a TypeScript source imports or re-exports, static or dynamic. */
function specifiers(source: string): string[] {
  const out: string[] = [];
  const patterns = [
    /\b(?:import|export)\b[^;'"]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /^\s*import\s+["']([^"']+)["']/gm,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) out.push(m[1] as string);
  return out;
}

/** The upward imports of one file (`file` relative to src/), as "from → to" lines. */
function upwardImports(file: string, source: string): string[] {
  const forbidden = FORBIDDEN[layerOf(file)] ?? [];
  const found: string[] = [];
  for (const spec of specifiers(source)) {
    if (!spec.startsWith(".")) continue;
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    if (target.startsWith("..")) continue;
    if (forbidden.includes(layerOf(target))) found.push(`${file} → ${target}`);
  }
  return found;
}

/** Reads of byte offsets: DataView accessors and typed views over memory. */
const OFFSET_READ = /\bnew DataView\b|\.(?:get|set)(?:Ui|I)nt(?:8|16|32)\(|\.(?:get|set)Big(?:Ui|I)nt64\(|\.(?:get|set)Float(?:32|64)\(/;

function sources(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(full, base));
    else if (entry.name.endsWith(".ts")) out.push(path.relative(base, full).split(path.sep).join("/"));
  }
  return out;
}

describe("layers", () => {
  const files = sources(SRC);

  it("finds the sources it checks", () => {
    for (const layer of Object.keys(FORBIDDEN)) expect(files.some((f) => layerOf(f) === layer)).toBe(true);
  });

  it("no file imports a layer above its own", () => {
    const found = files.flatMap((f) => upwardImports(f, readFileSync(path.join(SRC, f), "utf8")));
    expect(found).toEqual([]);
  });

  it("src/api reads no byte offsets", () => {
    const found = files.filter((f) => layerOf(f) === "api" && OFFSET_READ.test(readFileSync(path.join(SRC, f), "utf8")));
    expect(found).toEqual([]);
  });

  it("the check catches each kind of upward import", () => {
    expect(upwardImports("host/x.ts", 'import { PortMapperClient } from "../api/client.js";')).toEqual(["host/x.ts → api/client.js"]);
    expect(upwardImports("host/x.ts", 'export { a } from "../service/service.js";')).toEqual(["host/x.ts → service/service.js"]);
    expect(upwardImports("core/x.ts", 'import type { Shim } from "../host/shim.js";')).toEqual(["core/x.ts → host/shim.js"]);
    expect(upwardImports("core/x.ts", 'const m = await import("../api/open.js");')).toEqual(["core/x.ts → api/open.js"]);
    expect(upwardImports("api/x.ts", 'import {\n  run,\n} from "../cli/index.js";')).toEqual(["api/x.ts → cli/index.js"]);
    expect(upwardImports("api/x.ts", 'import { openPortMapperClient } from "../node.js";')).toEqual(["api/x.ts → node.js"]);
    // Downward and sideways imports pass.
    expect(upwardImports("api/x.ts", 'import { IwpmError } from "../core/errors.js";\nimport "../host/shim.js";')).toEqual([]);
    expect(upwardImports("cli/x.ts", 'import { openPortMapperService } from "../service/node.js";')).toEqual([]);
    expect(OFFSET_READ.test("view.getUint32(at + 4, true)")).toBe(true);
    expect(OFFSET_READ.test("core.readAddr(2)")).toBe(false);
  });
});
