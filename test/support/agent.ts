// A PortMapperClient inside a test namespace (test/interop/fixtures/agent.mjs), driven from the
// test through JSON lines: call(name, ...args) and nextEvent(kind).

import { execFileSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type JsonLine, type Netns, type NsProcess, runInNamespace } from "./netns.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const AGENT = fileURLToPath(new URL("../interop/fixtures/agent.mjs", import.meta.url));
const DIST = path.join(ROOT, "build", "dist", "index.js");
const DIST_WASM = ["iwpm.wasm", "iwpmd.wasm"].map((name) => path.join(ROOT, "build", "dist", name));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (/\.(ts|mts|mjs)$/.test(entry.name)) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * Builds the package (`node build/build.mjs`) when build/dist/index.js or a core next to it is missing
 * or older than anything under src/ or assembly/: the agent runs the built bundle, not the sources.
 */
export function ensureBuilt(): void {
  const sources = Math.max(newestMtime(path.join(ROOT, "src")), newestMtime(path.join(ROOT, "assembly")));
  const outputs = [DIST, ...DIST_WASM];
  const built = outputs.every((f) => existsSync(f)) ? Math.min(...outputs.map((f) => statSync(f).mtimeMs)) : 0;
  if (built >= sources) return;
  execFileSync(process.execPath, [path.join(ROOT, "build", "build.mjs")], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
}

/** A client port no process id can collide with (pid_max is at most 2^22). */
export const randomClientPort = (): number => 0x40000000 + randomInt(0, 0x0fffffff);

export interface AgentOptions {
  timeoutMs?: number;
  abiVersion?: 3 | 4;
  remoteInfoLimit?: number;
  init?: number[];
}

export interface CallFailure {
  ok: false;
  code: string;
  message: string;
  iwpmCode?: number;
  status?: number;
  errno?: number;
}

export type CallResult<T = unknown> = { ok: true; value: T } | CallFailure;

export class AgentCallError extends Error {
  constructor(
    readonly call: string,
    readonly failure: CallFailure,
  ) {
    super(`${call} failed: ${failure.code}: ${failure.message}`);
  }
  get code(): string {
    return this.failure.code;
  }
  get iwpmCode(): number | undefined {
    return this.failure.iwpmCode;
  }
}

export interface Agent {
  readonly proc: NsProcess;
  readonly port: number;
  /** Calls a client method; resolves its value, rejects with AgentCallError carrying the IwpmError's fields. */
  call<T = unknown>(name: string, ...args: unknown[]): Promise<T>;
  /** Calls a client method and resolves the outcome either way. */
  attempt<T = unknown>(name: string, ...args: unknown[]): Promise<CallResult<T>>;
  /** Takes the next not yet taken event line of `kind` (optionally matching), waiting up to timeoutMs. */
  nextEvent(kind: string, match?: (line: JsonLine) => boolean, timeoutMs?: number): Promise<JsonLine>;
  /** Every event line of `kind` not taken yet, without waiting. */
  drainEvents(kind: string): JsonLine[];
  /** Ends stdin: the agent closes its client and must then exit by itself. */
  close(): Promise<void>;
}

let callId = 0;

/** Starts the agent in `ns` bound to netlink port `port` and waits until its client is open. */
export async function startAgent(ns: Netns, port: number, options: AgentOptions = {}, callTimeoutMs = 30_000): Promise<Agent> {
  const proc = runInNamespace(ns, AGENT, [String(port), JSON.stringify(options)], { timeoutMs: callTimeoutMs });
  const ready = await proc
    .next((l) => l.ready === true, 10_000)
    .catch(async (err: unknown) => {
      await proc.close();
      throw err;
    });
  if (ready.port !== port) {
    await proc.close();
    throw new Error(`agent bound port ${String(ready.port)}, expected ${port}`);
  }
  const attempt = async <T>(name: string, ...args: unknown[]): Promise<CallResult<T>> => {
    const id = ++callId;
    proc.send({ id, call: name, args });
    const reply = await proc.next((l) => l.id === id && typeof l.ok === "boolean");
    return reply as unknown as CallResult<T>;
  };
  return {
    proc,
    port,
    attempt,
    call: async <T>(name: string, ...args: unknown[]): Promise<T> => {
      const r = await attempt<T>(name, ...args);
      if (!r.ok) throw new AgentCallError(name, r);
      return r.value;
    },
    nextEvent: (kind, match = () => true, timeoutMs) => proc.next((l) => l.event === kind && match(l), timeoutMs),
    drainEvents: (kind) => proc.drain((l) => l.event === kind),
    close: () => proc.close(),
  };
}
