// Register with the port mapper (iwpmd or `iwpm serve`), map a local TCP address, release it.
// Needs a running port mapper that can reach this socket.
import { IwpmError, openPortMapperClient } from "iwpm";

const client = await openPortMapperClient({ timeoutMs: 3000 });
try {
  const { registered, abiVersion } = await client.registerPid({ devName: "siw0", ifName: "lo" });
  if (!registered) throw new Error("no port mapper is available");
  const { mappedLocal } = await client.addMapping("127.0.0.1:5555");
  console.log(`ABI v${abiVersion}: 127.0.0.1:5555 is reachable as ${mappedLocal.address}:${mappedLocal.port}`);
  client.removeMapping("127.0.0.1:5555");
} catch (err) {
  console.error(err instanceof IwpmError ? `${err.code}: ${err.message}` : err);
  process.exitCode = 1;
} finally {
  await client.close();
}
