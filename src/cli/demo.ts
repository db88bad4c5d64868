// `iwpm demo`: the built-in port mapper service and a client in one process, over real netlink
// and UDP sockets, with no root and no RDMA hardware. It registers, adds and queries mappings,
// prints the tables and records the client's traffic for `iwpm decode` / `iwpm replay` / the page.

import { formatAddress } from "../api/address.js";
import type { PortMapperClient } from "../api/client.js";
import { openCapturingPortMapperClient } from "../capture/node.js";
import { IwpmError } from "../core/errors.js";
import type { SockAddr } from "../core/sockaddr.js";
import { openPortMapperService } from "../service/node.js";
import type { PortMapperService } from "../service/service.js";
import { CliError, type CliIO, type Command, EXIT, parseCommandArgs, parseCount } from "./command.js";
import { mappingTable } from "./serve.js";
import { renderTable } from "./table.js";

const help = `Usage: iwpm demo [--capture FILE] [--no-capture] [--udp-port N]

Starts the built-in port mapper service and a client in this process, over real
NETLINK_USERSOCK and UDP sockets, then: answers the service's HELLO, registers,
maps 127.0.0.1:5000, [::1]:5001 and 127.0.0.1:5002 (NO_PORT_MAP), queries
127.0.0.1:6000 -> 127.0.0.1:5000 through the peer protocol (the service is its
own peer), consumes the REMOTE_INFO the listener got, prints the tables and
removes everything. Needs no root and no RDMA hardware.

Options:
  --capture FILE   where to record the client's netlink traffic (default iwpm-demo.pcap)
  --no-capture     record nothing
  --udp-port N     the peers' UDP port (default 3935; use another if iwpmd runs here)
  -h, --help       this text`;

const fmt = (a: SockAddr | null | undefined) => (a ? formatAddress(a) : "-");

async function run(args: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs(args, {
    capture: { type: "string" },
    "no-capture": { type: "boolean" },
    "udp-port": { type: "string" },
  });
  if (values.help) {
    io.stdout.write(`${help}\n`);
    return EXIT.OK;
  }
  const udpPort = values["udp-port"] === undefined ? 3935 : parseCount(values["udp-port"], "--udp-port");
  const capture = values["no-capture"] ? undefined : (values.capture ?? "iwpm-demo.pcap");
  const say = (line: string) => io.stdout.write(`${line}\n`);

  let client: PortMapperClient | undefined;
  let service: PortMapperService | undefined;
  try {
    // Service and client are this one process, so each trusts exactly this process's uid (root or
    // not) as the other side, where by default each trusts only root.
    const uid = process.getuid?.() ?? 0;
    client = await openCapturingPortMapperClient({ timeoutMs: 5000, daemonUid: uid, ...(capture ? { capture } : {}) });
    const hello = new Promise<void>((resolve) => client?.once("daemonHello", () => resolve()));
    const infos: { remote: SockAddr; mappedLocal: SockAddr; mappedRemote: SockAddr; local: SockAddr; taken: string }[] = [];
    client.on("remoteInfo", (e) => infos.push({ ...e, taken: "waiting" }));
    try {
      service = await openPortMapperService({ port: 0, clientPort: client.port, udpPort, clientUid: uid });
    } catch (err) {
      if (err instanceof IwpmError && /EADDRINUSE/.test(err.message)) {
        throw new CliError(`UDP port ${udpPort} is in use (is iwpmd running here?); run \`iwpm demo --udp-port 13935\``);
      }
      throw err;
    }
    say(`service  netlink port ${service.port} (NETLINK_USERSOCK), peers on UDP ${udpPort}`);
    say(`client   netlink port ${client.port}`);
    say(`trust    both sides accept only uid ${uid} (this process's own), checked on every datagram's credentials`);
    await hello;
    say(`hello    the service announced itself; answered with ABI v${client.abiVersion()}`);

    const reg = await client.registerPid({ devName: "siw0", ifName: "lo" });
    say(`register registered=${reg.registered} ABI v${reg.abiVersion}`);

    const listeners: [string, { noPortMap?: boolean }][] = [
      ["127.0.0.1:5000", {}],
      ["[::1]:5001", {}],
      ["127.0.0.1:5002", { noPortMap: true }],
    ];
    const mapped = new Map<string, SockAddr>();
    for (const [local, opts] of listeners) {
      const r = await client.addMapping(local, opts);
      client.createMapinfo(local, r.mappedLocal, opts);
      mapped.set(local, r.mappedLocal);
      say(`add      ${local}${opts.noPortMap ? " (NO_PORT_MAP)" : ""} -> ${fmt(r.mappedLocal)}`);
    }

    const q = await client.addAndQueryMapping("127.0.0.1:6000", "127.0.0.1:5000");
    client.createMapinfo("127.0.0.1:6000", q.mappedLocal);
    say(`query    127.0.0.1:6000 -> 127.0.0.1:5000: mapped local ${fmt(q.mappedLocal)}, mapped remote ${fmt(q.mappedRemote)}`);
    // REMOTE_INFO for the listener normally arrives before the query's reply; give it a moment if not.
    for (let i = 0; i < 50 && infos.length === 0; i++) await new Promise((r) => setTimeout(r, 20));

    say("\nmapinfo table (client: what it replays to a restarted port mapper)");
    say(
      renderTable(
        ["client", "local", "mapped", "flags"],
        client.mapinfo().map((m) => [String(m.nlClient), fmt(m.local), fmt(m.mapped), m.flags & 1 ? "NO_PORT_MAP" : ""]),
      ),
    );
    for (const info of infos) {
      const remote = client.getRemoteInfo(info.mappedLocal, info.mappedRemote);
      info.taken = remote ? `consumed: ${fmt(remote)}` : "not found";
    }
    say("\nremote-info table (client: who connects to a listener; getRemoteInfo consumes an entry)");
    say(
      renderTable(
        ["mapped local", "mapped remote", "remote", "getRemoteInfo"],
        infos.map((i) => [fmt(i.mappedLocal), fmt(i.mappedRemote), fmt(i.remote), i.taken]),
      ),
    );
    say("\nmappings (service: ports it holds)");
    say(mappingTable(service));

    for (const [local, m] of mapped) {
      client.removeMapinfo(local, m);
      client.removeMapping(local);
    }
    client.removeMapinfo("127.0.0.1:6000", q.mappedLocal);
    client.removeMapping("127.0.0.1:6000");
    const stats = client.stats();
    say(`\nclient   sent ${stats.txDatagrams} datagrams, received ${stats.rxDatagrams}, dropped ${stats.dropped}`);
    if (capture) say(`capture  ${capture}: \`iwpm decode ${capture}\`, \`iwpm replay ${capture}\`, or open it in \`iwpm web\``);
    return EXIT.OK;
  } catch (err) {
    if (err instanceof IwpmError) throw new CliError(`${err.code}: ${err.message}`);
    throw err;
  } finally {
    await client?.close();
    await service?.close();
  }
}

const demo: Command = { name: "demo", summary: "run a port mapper service and a client over real sockets (no root needed)", help, run };
export default demo;
