import { createShim, type PeerAddress, type PortReserver, SocketMap, type UdpDatagram, type UdpSocket } from "../../src/host/shim.js";
import { type DaemonCore, instantiateDaemonCore, type ServiceExports } from "../../src/service/exports.js";
import { daemonTestCoreModule, FakeClock, FakeSocket } from "../support/core.js";

// The daemon core (its test build) under fake sockets, a fake clock and a fake
// port reserver: the unit-test harness for the daemon side.

/** The daemon core's test-only exports (assembly/daemon.debug.ts). */
export interface DaemonTestExports extends ServiceExports {
  serviceMappingVerify(): number;
  serviceMappingCountOf(port: number): number;
  serviceSetAssocHandle(hi: number, lo: number): void;
  serviceNextSeq(nlClient: number): number;
}

export const NL_FD = 4;
export const UDP = { v4: 10, v4client: 11, v6: 12, v6client: 13 } as const;

export interface SentUdp {
  fd: number;
  bytes: Uint8Array;
  to: PeerAddress;
}

/** Records what the service sends on one UDP socket; serves what a test queues. */
export class FakeUdp implements UdpSocket {
  readonly inbox: UdpDatagram[] = [];
  constructor(
    readonly fd: number,
    private readonly log: SentUdp[],
  ) {}
  sendTo(bytes: Uint8Array, to: PeerAddress): number {
    this.log.push({ fd: this.fd, bytes, to });
    return 0;
  }
  recvFrom(): UdpDatagram | null {
    return this.inbox.shift() ?? null;
  }
}

/** Hands out ports from a list (or counting up), refuses ports listed as busy, tracks open handles. */
export class FakePorts implements PortReserver {
  readonly open = new Map<number, { family: number; port: number }>();
  next = 40000;
  busy = new Set<number>();
  fail = 0;
  private handles = 0;
  reserve(family: number, port: number) {
    if (this.fail !== 0) return { errno: this.fail };
    const bound = port === 0 ? this.next++ : port;
    if (this.busy.has(bound) || [...this.open.values()].some((r) => r.port === bound)) return { errno: 3 };
    const handle = ++this.handles;
    this.open.set(handle, { family, port: bound });
    return { errno: 0, handle, port: bound };
  }
  close(handle: number): number {
    return this.open.delete(handle) ? 0 : 8;
  }
}

export interface ServiceHarness {
  core: DaemonCore<DaemonTestExports>;
  nl: FakeSocket;
  udp: Record<keyof typeof UDP, FakeUdp>;
  udpSent: SentUdp[];
  ports: FakePorts;
  clock: FakeClock;
  /** Feeds a netlink datagram as if it arrived on the service's socket. */
  feed(datagram: Uint8Array): void;
  /** Queues a UDP datagram on a socket and polls. */
  peer(fd: keyof typeof UDP, bytes: Uint8Array, from: PeerAddress): void;
}

export async function loadService(o: { port?: number; clientPort?: number } = {}): Promise<ServiceHarness> {
  const nl = new FakeSocket();
  const udpSent: SentUdp[] = [];
  const udp = {
    v4: new FakeUdp(UDP.v4, udpSent),
    v4client: new FakeUdp(UDP.v4client, udpSent),
    v6: new FakeUdp(UDP.v6, udpSent),
    v6client: new FakeUdp(UDP.v6client, udpSent),
  };
  const ports = new FakePorts();
  const clock = new FakeClock();
  const shim = createShim({
    sockets: new SocketMap([[NL_FD, nl]]),
    udpSockets: new Map<number, UdpSocket>(Object.values(udp).map((u) => [u.fd, u])),
    ports,
    clock,
    random: (buf) => buf.fill(0x5a),
    log: () => {},
  });
  const core = await instantiateDaemonCore<DaemonTestExports>(daemonTestCoreModule(), shim);
  const x = core.exports;
  x.serviceConfigure(NL_FD, o.port ?? 1234, o.clientPort ?? 0);
  x.serviceSetUdpSocket(0, UDP.v4);
  x.serviceSetUdpSocket(1, UDP.v4client);
  x.serviceSetUdpSocket(2, UDP.v6);
  x.serviceSetUdpSocket(3, UDP.v6client);
  return {
    core,
    nl,
    udp,
    udpSent,
    ports,
    clock,
    feed(datagram) {
      // From the port its header names, as a real sender's nlmsg_pid is its own port.
      nl.inbox.push({ bytes: datagram, port: senderPort(datagram), groups: 0 });
      x.servicePoll();
    },
    peer(fd, bytes, from) {
      udp[fd].inbox.push({ bytes, from });
      x.servicePoll();
    },
  };
}

/** The nlmsg_pid of a datagram's first message (4321 for one too short to have one). */
function senderPort(datagram: Uint8Array): number {
  return datagram.length >= 16 ? new DataView(datagram.buffer, datagram.byteOffset).getUint32(12, true) : 4321;
}

export const peer4 = (address: string, port = 3935): PeerAddress => ({
  family: 2,
  address: new Uint8Array([...address.split(".").map(Number), ...new Array(12).fill(0)]),
  port,
  scopeId: 0,
});
