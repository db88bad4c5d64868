// The project's import shim, completed with ENOSYS stubs for imports a newer core declares
// that this checkout's shim does not serve yet (the benchmarks never reach them).

import type { Shim } from "../../src/host/shim.js";

/** Imports the core declares but this checkout's shim does not serve (a newer core): answered ENOSYS (52) and listed. */
export const stubbedImports = new Set<string>();

export function withStubs(module: WebAssembly.Module, shim: Shim): Shim {
  const imports = shim.imports as Record<string, Record<string, unknown>>;
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== "function" || typeof imports[imp.module]?.[imp.name] === "function") continue;
    stubbedImports.add(`${imp.module}.${imp.name}`);
    imports[imp.module] = { ...imports[imp.module], [imp.name]: () => 52 };
  }
  return shim;
}
