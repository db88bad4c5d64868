// Finding and compiling iwpm.wasm in Node: next to the bundle (build/dist/), or the build output
// when running from the sources. Compiled once per process.

import { readFile } from "node:fs/promises";
import { IwpmError } from "../core/errors.js";

const CANDIDATES = ["./iwpm.wasm", "../../build/core/iwpm.wasm"];

let compiled: Promise<WebAssembly.Module> | undefined;

async function load(): Promise<WebAssembly.Module> {
  const tried: string[] = [];
  for (const candidate of CANDIDATES) {
    const url = new URL(candidate, import.meta.url);
    let bytes: Buffer;
    try {
      bytes = await readFile(url);
    } catch (err) {
      tried.push(`${url.pathname} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      continue;
    }
    return WebAssembly.compile(new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength));
  }
  throw new IwpmError(
    "INTERNAL",
    `the iwpm core (iwpm.wasm) was not found; tried ${tried.join(", ")}; run \`npm run build\` or pass the bytes as options.wasm`,
  );
}

/** The core's module: from `wasm` when given, else iwpm.wasm found on disk. */
export function coreModule(wasm?: BufferSource): Promise<WebAssembly.Module> {
  if (wasm !== undefined) return WebAssembly.compile(wasm);
  compiled ??= load().catch((err: unknown) => {
    compiled = undefined;
    throw err;
  });
  return compiled;
}
