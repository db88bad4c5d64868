// Map a listener's address, then wait for the port mapper to announce a connecting peer
// (the remoteInfo event), giving up after a while: Node's events.once with an AbortSignal.
// Needs a running port mapper (iwpmd or `iwpm serve`) that can reach this socket.
import { once } from "node:events";
import { IwpmError, openPortMapperClient } from "iwpm";

const WAIT_MS = Number(process.env.WAIT_MS ?? 500);
const client = await openPortMapperClient({ timeoutMs: 3000 });
try {
  await client.registerPid({ devName: "siw0", ifName: "lo" }, { signal: AbortSignal.timeout(5000) });
  const { mappedLocal } = await client.addMapping("127.0.0.1:6000");
  client.createMapinfo("127.0.0.1:6000", mappedLocal);
  console.log(`listening as ${mappedLocal.address}:${mappedLocal.port}; waiting ${WAIT_MS} ms for a peer`);
  try {
    const [peer] = await once(client, "remoteInfo", { signal: AbortSignal.timeout(WAIT_MS) });
    console.log(`a peer connects from ${peer.remote.address}:${peer.remote.port}`);
  } catch (err) {
    if (err?.name !== "AbortError") throw err;
    console.log("no peer came");
  }
  client.removeMapinfo("127.0.0.1:6000", mappedLocal);
  client.removeMapping("127.0.0.1:6000");
} catch (err) {
  console.error(err instanceof IwpmError ? `${err.code}: ${err.message}` : err);
  process.exitCode = 1;
} finally {
  await client.close();
}
