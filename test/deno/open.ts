// Opens a client under Deno on the port given and prints how that went, as one JSON line:
//   {"opened":true,"port":P}  or  {"code":"SOCKET_ERROR","errno":98,"syscall":"bind","message":".."}
// test/interop/deno.test.ts compares the failures with the Node host's for the same cause.

import { openPortMapperClient } from "../../src/deno.js";

interface OpenDeno {
  args: string[];
}
type HostDeno = typeof globalThis extends { Deno: infer D } ? D : OpenDeno;
const deno: OpenDeno = (globalThis as unknown as { Deno: HostDeno }).Deno;

try {
  const client = await openPortMapperClient({ port: Number(deno.args[0] ?? 0) });
  console.log(JSON.stringify({ opened: true, port: client.port }));
  await client.close();
} catch (err) {
  const e = err as { code?: unknown; errno?: unknown; syscall?: unknown; message?: unknown };
  console.log(JSON.stringify({ code: e.code, errno: e.errno, syscall: e.syscall, message: e.message }));
}
