// A PortMapperClient under Deno in a process of its own (run inside a test namespace), driven by
// JSON lines: the Deno twin of test/interop/fixtures/agent.mjs, with the same protocol.
//
//   args:   <port> [options JSON for openPortMapperClient]
//   stdout: {"ready":true,"port":P}                                   once the client is open
//           {"id":N,"ok":true,"value":...}                            a call's result
//           {"id":N,"ok":false,"code":"TIMEOUT","iwpmCode":..,"message":".."}
//           {"event":"remoteInfo",...}                                every client event
//           {"closed":true}                                           after stdin ended
//   stdin:  {"id":N,"call":"registerPid","args":[...]}                one client method call
//           {"id":N,"call":"addMappingMany","args":[[addr,...],opts]} many addMapping at once
//           {"id":N,"call":"state"}                                   validPid, daemonPid, …
//
// When stdin ends the client is closed and nothing else is done: the process must then exit on
// its own, which shows that the client leaves no pending poll, timer or handle behind.

import { type AddressInput, type MappingOptions, openPortMapperClient, type PortMapperEvents } from "../../src/deno.js";

interface AgentDeno {
  args: string[];
  stdin: { readable: ReadableStream<Uint8Array> };
  exit(code?: number): never;
}
// Deno's own namespace type under `deno check` (which then checks AgentDeno against it).
type HostDeno = typeof globalThis extends { Deno: infer D } ? D : AgentDeno;
const deno: AgentDeno = (globalThis as unknown as { Deno: HostDeno }).Deno;

type Json = Record<string, unknown>;
const out = (obj: Json) => console.log(JSON.stringify(obj));

const port = Number(deno.args[0]);
const options = deno.args[1] ? (JSON.parse(deno.args[1]) as Json) : {};
if (!Number.isInteger(port) || port < 0 || port > 0xffffffff) {
  console.error(`usage: agent.ts <port> [options JSON], got ${deno.args[0]}`);
  deno.exit(2);
}

function failure(err: unknown): Json {
  const e = (typeof err === "object" && err !== null ? err : {}) as Json;
  return {
    ok: false,
    code: e.code ?? "INTERNAL",
    name: e.name,
    message: e.message ?? String(err),
    ...(e.iwpmCode !== undefined ? { iwpmCode: e.iwpmCode } : {}),
    ...(e.status !== undefined ? { status: e.status } : {}),
    ...(e.errno !== undefined ? { errno: e.errno } : {}),
  };
}

const client = await openPortMapperClient({ ...options, port });

const kinds = ["remoteInfo", "mappingError", "daemonHello", "mapinfoRequest", "mapinfoResent", "mapinfoAck"] as const;
for (const kind of kinds) {
  client.on(kind, (e: PortMapperEvents[typeof kind]) => out({ event: kind, ...e }));
}
client.on("error", (e) => out({ event: "error", code: (e as { code?: unknown }).code, message: e.message }));

type Call = (...args: never[]) => unknown;
const calls: Record<string, Call> = {
  state: () => ({
    validPid: client.validPid(),
    daemonPid: client.daemonPid(),
    abiVersion: client.abiVersion(),
    registration: client.registration(),
    stats: client.stats(),
    mapinfo: client.mapinfo().length,
  }),
  addMappingMany: async (locals: AddressInput[], opts?: MappingOptions) => {
    const settled = await Promise.allSettled(locals.map((local) => client.addMapping(local, opts)));
    return settled.map((r) => (r.status === "fulfilled" ? { ok: true, value: r.value } : failure(r.reason)));
  },
  createMapinfoMany: (pairs: [AddressInput, AddressInput][], opts?: MappingOptions) => {
    for (const [local, mapped] of pairs) client.createMapinfo(local, mapped, opts);
    return pairs.length;
  },
};

async function run(req: { call?: unknown; args?: unknown[] }): Promise<Json> {
  const name = String(req.call);
  const method = (client as unknown as Record<string, unknown>)[name];
  const fn = Object.hasOwn(calls, name) ? calls[name] : typeof method === "function" ? (method.bind(client) as Call) : undefined;
  if (fn === undefined) return { ok: false, code: "INVALID_ARGUMENT", message: `no call ${name}` };
  try {
    const value = await fn(...((req.args ?? []) as never[]));
    return { ok: true, value: value === undefined || value === client ? null : value };
  } catch (err) {
    return failure(err);
  }
}

out({ ready: true, port: client.port });

// One JSON request per line; answers go out as they settle, not in order.
const reader = deno.stdin.readable.getReader();
const decoder = new TextDecoder();
let rest = "";
for (;;) {
  const { done, value } = await reader.read();
  if (done) break;
  rest += decoder.decode(value, { stream: true });
  for (let nl = rest.indexOf("\n"); nl >= 0; nl = rest.indexOf("\n")) {
    const line = rest.slice(0, nl);
    rest = rest.slice(nl + 1);
    if (!line.trim()) continue;
    let req: { id?: unknown; call?: unknown; args?: unknown[] };
    try {
      req = JSON.parse(line);
    } catch {
      out({ event: "error", code: "BAD_INPUT", message: `bad input line: ${line}` });
      continue;
    }
    void run(req).then((result) => out({ id: req.id ?? null, ...result }));
  }
}
await client.close();
out({ closed: true });
