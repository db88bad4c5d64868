// The two cores and where a host that reads files finds them: next to the bundle (build/dist/),
// or the build output when running from the sources (this file is src/core/). Node and Deno read
// through here with their own file API; the browser fetches the same names next to its bundle.

import { IwpmError } from "./errors.js";

export type CoreName = "client" | "daemon";

/** The file of each core: the client and codec (also the decoder's and the replay's), the daemon. */
export const CORE_FILES: Readonly<Record<CoreName, string>> = { client: "iwpm.wasm", daemon: "iwpmd.wasm" };

const DIRS = ["./", "../../build/core/"];

/** Reads a file's bytes, or says in a few words why not (shown to the user). */
export type ReadCore = (url: URL) => Promise<Uint8Array<ArrayBuffer> | { why: string }>;

const compiled = new Map<CoreName, Promise<WebAssembly.Module>>();

async function find(name: CoreName, read: ReadCore): Promise<WebAssembly.Module> {
  const tried: string[] = [];
  for (const dir of DIRS) {
    const url = new URL(dir + CORE_FILES[name], import.meta.url);
    const got = await read(url);
    if (got instanceof Uint8Array) return WebAssembly.compile(got);
    tried.push(`${url.pathname} (${got.why})`);
  }
  throw new IwpmError(
    "INTERNAL",
    `the iwpm ${name} core (${CORE_FILES[name]}) was not found; tried ${tried.join(", ")}; run \`npm run build\` or pass the bytes as options.wasm`,
  );
}

/** The named core's module, compiled once per process; a failed search is tried again next time. */
export function findCoreModule(name: CoreName, read: ReadCore): Promise<WebAssembly.Module> {
  let module = compiled.get(name);
  if (module === undefined) {
    module = find(name, read).catch((err: unknown) => {
      compiled.delete(name);
      throw err;
    });
    compiled.set(name, module);
  }
  return module;
}
