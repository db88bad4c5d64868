// The client over the real core and a fake transport: a FakeSocket the test feeds with messages
// built by the scripted daemon (test/support/fake-daemon.ts). Shared by the API test files.

import { expect } from "vitest";
import { PortMapperClient, type PortMapperClientOptions } from "../../src/api/client.js";
import { instantiateCore } from "../../src/core/core.js";
import { IwpmError } from "../../src/core/errors.js";
import { type Clock, createShim, SocketMap } from "../../src/host/shim.js";
import { coreModule, FakeSocket, type SentDatagram } from "../support/core.js";
import { FakeDaemon } from "../support/fake-daemon.js";
import { type ParsedMessage, parseDatagram } from "../support/nl.js";

export const OWN_PORT = 777;
export const DEV = { devName: "siw0", ifName: "lo" };
export const GROUP_IWPM_MASK = 1 << 1;

/** Follows Date.now(), so vitest's fake timers move it together with setTimeout. */
export const dateClock: Clock = {
  monotonicNs: () => BigInt(Date.now()) * 1_000_000n,
  realtimeNs: () => BigInt(Date.now()) * 1_000_000n,
};

export interface Harness {
  client: PortMapperClient;
  socket: FakeSocket;
  daemon: FakeDaemon;
  transport: { closed: boolean; refs: string[] };
  /** Queues datagrams from `port` (default: the daemon's) and tells the client. */
  deliver(bytes: Uint8Array, port?: number): void;
  /** Everything the client sent since the last call, parsed. */
  sent(): (SentDatagram & { msgs: ParsedMessage[] })[];
  /** The one message sent since the last call. */
  sentOne(): SentDatagram & { msg: ParsedMessage };
}

const clients: PortMapperClient[] = [];

/** Closes every client the harness opened (call from afterEach). */
export async function closeClients(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.close()));
}

/** `groupHasMember`: what the fake host says about the port mappers' group (absent: it cannot see). */
export async function harness(
  options: PortMapperClientOptions = {},
  clock?: Clock,
  groupHasMember?: (groupMask: number) => boolean | undefined,
): Promise<Harness> {
  const socket = new FakeSocket();
  const shim = createShim({
    sockets: new SocketMap([[3, socket]]),
    ...(clock ? { clock } : {}),
    log: () => {},
  });
  const core = await instantiateCore(coreModule(), shim);
  const transport = { closed: false, refs: [] as string[] };
  const client = new PortMapperClient(
    core,
    {
      socket,
      port: OWN_PORT,
      ...(groupHasMember ? { groupHasMember } : {}),
      close: () => {
        transport.closed = true;
      },
      ref: () => transport.refs.push("ref"),
      unref: () => transport.refs.push("unref"),
    },
    options,
  );
  clients.push(client);
  const daemon = new FakeDaemon();
  const sent = () => socket.take().map((d) => ({ ...d, msgs: parseDatagram(d.bytes) }));
  return {
    client,
    socket,
    daemon,
    transport,
    deliver: (bytes, port = daemon.port) => {
      socket.inbox.push({ bytes, port, groups: 0 });
      client.handleReadable();
    },
    sent,
    sentOne: () => {
      const all = sent();
      expect(all).toHaveLength(1);
      const d = all[0] as SentDatagram & { msgs: ParsedMessage[] };
      expect(d.msgs).toHaveLength(1);
      return { ...d, msg: d.msgs[0] as ParsedMessage };
    },
  };
}

/** A harness whose client is registered with the fake daemon (ABI v4). */
export async function registered(options: PortMapperClientOptions = {}, clock?: Clock): Promise<Harness> {
  const h = await harness(options, clock);
  const pending = h.client.registerPid(DEV);
  const req = h.sentOne();
  h.deliver(h.daemon.regPidReply(req.msg.seq, DEV.devName));
  await expect(pending).resolves.toEqual({ registered: true, abiVersion: 4 });
  return h;
}

export async function rejection(p: Promise<unknown>): Promise<IwpmError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(IwpmError);
    return err as IwpmError;
  }
  throw new Error("resolved, expected a rejection");
}

export function thrown(fn: () => unknown): IwpmError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IwpmError);
    return err as IwpmError;
  }
  throw new Error("returned, expected a throw");
}
