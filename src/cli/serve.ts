// `iwpm serve`: the built-in port mapper service in the foreground, as `iwpmd -s` runs: logs what
// it does, dumps its mappings on SIGUSR1, exits cleanly on SIGTERM, SIGINT or SIGHUP.

import { formatAddress } from "../api/address.js";
import { IwpmError } from "../core/errors.js";
import type { SockAddr } from "../core/sockaddr.js";
import { openPortMapperService } from "../service/node.js";
import type { PortMapperService } from "../service/service.js";
import { CliError, type CliIO, type Command, EXIT, parseCommandArgs, parseCount } from "./command.js";
import { renderTable } from "./table.js";

const help = `Usage: iwpm serve [--protocol 2|20] [--port N] [--client-port N] [--udp-port N]

Runs the iwpmd-compatible port mapper service in the foreground: it answers
clients on a netlink socket (REG_PID, ADD/QUERY/REMOVE_MAPPING, MAPINFO) and
other port mappers on UDP (iwpmd's wire protocol), reserving a real TCP port
for each mapping. SIGUSR1 prints the mapping table; SIGTERM, SIGINT and SIGHUP
release every port and exit.

Options:
  --protocol N      netlink family: 2 NETLINK_USERSOCK (default) or 20 NETLINK_RDMA
  --port N          our netlink port (default: the process id, as iwpmd)
  --client-port N   where HELLO, MAPINFO requests, REMOTE_INFO and HANDLE_ERR go
                    (default 0, the kernel; a user-space client's port otherwise)
  --udp-port N      the peers' UDP port (default 3935)
  -h, --help        this text

Without CAP_NET_ADMIN the service cannot join the port mappers' multicast
group; clients then reach it through the HELLO it sends to --client-port.`;

const fmt = (a: SockAddr | null) => (a ? formatAddress(a) : "-");

export function mappingTable(service: PortMapperService): string {
  return renderTable(
    ["client", "local", "mapped", "refs", "port held"],
    service.mappings().map((m) => [String(m.nlClient), fmt(m.local), fmt(m.mapped), String(m.refcount), m.portHeld ? "yes" : "no"]),
  );
}

async function run(args: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs(args, {
    protocol: { type: "string" },
    port: { type: "string" },
    "client-port": { type: "string" },
    "udp-port": { type: "string" },
  });
  if (values.help) {
    io.stdout.write(`${help}\n`);
    return EXIT.OK;
  }
  const protocol = values.protocol === undefined ? 2 : parseCount(values.protocol, "--protocol");
  if (protocol !== 2 && protocol !== 20) throw new CliError("--protocol is 2 (NETLINK_USERSOCK) or 20 (NETLINK_RDMA)", EXIT.USAGE);
  const log = (line: string) => io.stderr.write(`${new Date().toISOString()} ${line}\n`);

  let service: PortMapperService;
  try {
    service = await openPortMapperService({
      protocol,
      ...(values.port !== undefined ? { port: parseCount(values.port, "--port") } : {}),
      ...(values["client-port"] !== undefined ? { clientPort: parseCount(values["client-port"], "--client-port") } : {}),
      ...(values["udp-port"] !== undefined ? { udpPort: parseCount(values["udp-port"], "--udp-port") } : {}),
      log,
    });
  } catch (err) {
    if (err instanceof IwpmError) {
      const hint = /EADDRINUSE/.test(err.message)
        ? " (another port mapper runs here: stop it, or use --udp-port and --port)"
        : /EPROTONOSUPPORT|EPERM|EACCES/.test(err.message) && protocol === 20
          ? " (NETLINK_RDMA needs an RDMA-capable kernel and root; use --protocol 2 without them)"
          : "";
      throw new CliError(`${err.message}${hint}`);
    }
    throw err;
  }
  service.on("clientRegistered", (e) => log(`client ${e.nlClient} registered from port ${e.port}${e.first ? "" : " (again)"}`));
  service.on("mappingAdded", (e) => log(`${e.op}: ${fmt(e.local)} -> ${fmt(e.mapped)} (client ${e.nlClient}, refs ${e.refcount})`));
  service.on("mappingRemoved", (e) => log(`removed ${fmt(e.local)} (client ${e.nlClient}, refs ${e.refcount})`));
  service.on("requestFailed", (e) => log(`${e.op} from client ${e.nlClient} failed: ${e.name}`));
  service.on("queryDone", (e) => log(`query ${fmt(e.local)} -> ${fmt(e.remote)}: ${e.name}`));
  service.on("peerRequest", (e) => log(`peer asks for ${fmt(e.local)} from ${fmt(e.remote)}: ${e.accepted ? "accepted" : "rejected"}`));
  service.on("error", (e) => log(`error: ${e.message}`));
  log(`iwpm serve: netlink port ${service.port} (protocol ${protocol}), ABI v${service.version()}`);

  return new Promise<number>((resolve) => {
    const dump = () => io.stdout.write(`mappings at ${new Date().toISOString()}\n${mappingTable(service)}\n`);
    const stop = (signal: string) => {
      log(`${signal}: releasing ports and exiting`);
      for (const s of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.off(s, handlers[s]);
      process.off("SIGUSR1", dump);
      void Promise.resolve(service.close()).then(() => resolve(EXIT.OK));
    };
    const handlers = { SIGTERM: () => stop("SIGTERM"), SIGINT: () => stop("SIGINT"), SIGHUP: () => stop("SIGHUP") };
    for (const s of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(s, handlers[s]);
    process.on("SIGUSR1", dump);
    io.signal?.addEventListener("abort", () => stop("abort"), { once: true });
  });
}

const serve: Command = { name: "serve", summary: "run the iwpmd-compatible port mapper service in the foreground", help, run };
export default serve;
