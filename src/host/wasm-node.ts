// Finding and compiling a core in Node (src/core/core-files.ts knows where to look).

import { readFile } from "node:fs/promises";
import { type CoreName, findCoreModule } from "../core/core-files.js";

async function readNode(url: URL): Promise<Uint8Array<ArrayBuffer> | { why: string }> {
  try {
    const bytes = await readFile(url);
    return new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
  } catch (err) {
    return { why: (err as NodeJS.ErrnoException).code ?? String(err) };
  }
}

/** The named core's module: from `wasm` when given, else its file found on disk. */
export function coreModule(name: CoreName, wasm?: BufferSource): Promise<WebAssembly.Module> {
  if (wasm !== undefined) return WebAssembly.compile(wasm);
  return findCoreModule(name, readNode);
}
