// Every way a caller can misuse the client, each answered with a typed IwpmError and the code a
// program would switch on (never a TypeError from deep inside): every method with bad addresses,
// names and options, null where an object belongs, calls after close, one exit too many. The
// client runs over the real core and a fake socket (test/api/harness.ts); nothing may be sent.

import { afterEach, describe, expect, it } from "vitest";
import { PortMapperClient } from "../../src/api/client.js";
import { instantiateCore } from "../../src/core/core.js";
import { IwpmError, type IwpmErrorCode } from "../../src/core/errors.js";
import { createShim, SocketMap } from "../../src/host/shim.js";
import { openPortMapperClient } from "../../src/node.js";
import { coreModule, FakeSocket } from "../support/core.js";
import { closeClients, DEV, type Harness, harness, registered } from "./harness.js";

afterEach(closeClients);

type Call = (c: PortMapperClient) => unknown;

interface Case {
  name: string;
  call: Call;
  code: IwpmErrorCode;
  /** Registered first, so a call that slipped past validation would reach the daemon. */
  registered?: boolean;
  close?: boolean;
}

/** Calls `call`, sync or async, and returns the IwpmError it failed with. */
async function failure(call: () => unknown): Promise<IwpmError> {
  let result: unknown;
  try {
    result = call();
    await result;
  } catch (err) {
    if (!(err instanceof IwpmError)) throw new Error(`failed with ${String(err)}, not an IwpmError`);
    return err;
  }
  throw new Error(`succeeded (${JSON.stringify(result)}), expected an IwpmError`);
}

const GOOD = "127.0.0.1:5000";
const GOOD6 = "[fd00::1]:5000";

const badAddresses: [string, unknown][] = [
  ["null", null],
  ["undefined", undefined],
  ["a number", 42],
  ["a boolean", true],
  ["a symbol", Symbol("addr")],
  ["a bigint", 5n],
  ["a function", () => GOOD],
  ["an array", ["127.0.0.1", 5000]],
  ["an empty object", {}],
  ["empty text", ""],
  ["no port", "127.0.0.1"],
  ["an empty port", "127.0.0.1:"],
  ["port 65536", "127.0.0.1:65536"],
  ["a negative port", "127.0.0.1:-1"],
  ["a hex port", "127.0.0.1:0x10"],
  ["an octet above 255", "256.0.0.1:1"],
  ["a leading-zero octet", "010.0.0.1:1"],
  ["three octets", "10.0.1:1"],
  ["IPv6 without brackets", "::1:5"],
  ["no colon after the bracket", "[::1]5"],
  ["an unclosed bracket", "[::1:5"],
  ["two double colons", "[1::2::3]:1"],
  ["a scope name", "[fe80::1%eth0]:1"],
  ["a host name", "localhost:1"],
  ["port NaN", { address: "127.0.0.1", port: Number.NaN }],
  ["port -1", { address: "127.0.0.1", port: -1 }],
  ["port 1.5", { address: "127.0.0.1", port: 1.5 }],
  ["port as text", { address: "127.0.0.1", port: "1" }],
  ["port Infinity", { address: "127.0.0.1", port: Number.POSITIVE_INFINITY }],
  ["address as a number", { address: 0x7f000001, port: 1 }],
  ["an unknown family", { address: "127.0.0.1", port: 1, family: "ipv5" }],
  ["IPv4 with a scope id", { address: "127.0.0.1", port: 1, scopeId: 1 }],
  ["a negative scope id", { address: "fe80::1", port: 1, scopeId: -1 }],
  ["flowinfo past 32 bits", { address: "fd00::1", port: 1, flowinfo: 2 ** 32 }],
  ["IPv6 text named ipv4", { address: "fd00::1", port: 1, family: "ipv4" }],
  ["conflicting scopes", { address: "fe80::1%2", port: 1, scopeId: 3 }],
];

const badOptionObjects: [string, unknown][] = [
  ["null", null],
  ["a number", 2],
  ["text", "nlClient"],
  ["a boolean", true],
  ["a symbol", Symbol("opts")],
  ["an array", [2]],
];

const badIndexes: [string, unknown][] = [
  ["-1", -1],
  ["64", 64],
  ["1.5", 1.5],
  ["NaN", Number.NaN],
  ["Infinity", Number.POSITIVE_INFINITY],
  ["2**53", 2 ** 53],
  ["text", "2"],
  ["null", null],
  ["a symbol", Symbol("nl")],
];

const badFlags: [string, unknown][] = [
  ["flags -1", { flags: -1 }],
  ["flags 2**32", { flags: 2 ** 32 }],
  ["flags NaN", { flags: Number.NaN }],
  ["flags 1.5", { flags: 1.5 }],
  ["flags as text", { flags: "1" }],
  ["noPortMap as text", { noPortMap: "yes" }],
  ["noPortMap 1", { noPortMap: 1 }],
];

const badAwaits: [string, unknown][] = [
  ["timeoutMs 0", { timeoutMs: 0 }],
  ["timeoutMs -1", { timeoutMs: -1 }],
  ["timeoutMs NaN", { timeoutMs: Number.NaN }],
  ["timeoutMs 2**31", { timeoutMs: 2 ** 31 }],
  ["timeoutMs as text", { timeoutMs: "100" }],
  ["timeoutMs null", { timeoutMs: null }],
  ["signal {}", { signal: {} }],
  ["signal as text", { signal: "abort" }],
  ["signal null", { signal: null }],
];

const badNames: [string, unknown][] = [
  ["null", null],
  ["undefined", undefined],
  ["text", "siw0"],
  ["a symbol", Symbol("names")],
  ["an empty object", {}],
  ["devName a number", { devName: 1, ifName: "lo" }],
  ["ifName missing", { devName: "siw0" }],
  ["empty devName", { devName: "", ifName: "lo" }],
  ["devName of 32 bytes", { devName: "d".repeat(32), ifName: "lo" }],
  ["devName of 32 UTF-8 bytes", { devName: "é".repeat(16), ifName: "lo" }],
  ["ifName of 16 bytes", { devName: "siw0", ifName: "i".repeat(16) }],
  ["ifName null", { devName: "siw0", ifName: null }],
];

// Where an address goes: each method's address positions, with good values around the bad one.
const addressSlots: [string, (c: PortMapperClient, a: never) => unknown][] = [
  ["addMapping local", (c, a) => c.addMapping(a)],
  ["addAndQueryMapping local", (c, a) => c.addAndQueryMapping(a, GOOD)],
  ["addAndQueryMapping remote", (c, a) => c.addAndQueryMapping(GOOD, a)],
  ["removeMapping local", (c, a) => c.removeMapping(a)],
  ["getRemoteInfo mappedLocal", (c, a) => c.getRemoteInfo(a, GOOD)],
  ["getRemoteInfo mappedRemote", (c, a) => c.getRemoteInfo(GOOD, a)],
  ["createMapinfo local", (c, a) => c.createMapinfo(a, GOOD)],
  ["createMapinfo mapped", (c, a) => c.createMapinfo(GOOD, a)],
  ["removeMapinfo local", (c, a) => c.removeMapinfo(a, GOOD)],
  ["removeMapinfo mapped", (c, a) => c.removeMapinfo(GOOD, a)],
];

// Methods that take an options object, called with good arguments and `o` as options.
const optionSlots: [string, (c: PortMapperClient, o: never) => unknown, "index" | "mapping" | "await" | "register"][] = [
  ["registerPid", (c, o) => c.registerPid(DEV, o), "register"],
  ["addMapping", (c, o) => c.addMapping(GOOD, o), "mapping"],
  ["addAndQueryMapping", (c, o) => c.addAndQueryMapping(GOOD, "127.0.0.2:6000", o), "mapping"],
  ["removeMapping", (c, o) => c.removeMapping(GOOD, o), "index"],
  ["getRemoteInfo", (c, o) => c.getRemoteInfo(GOOD, GOOD, o), "index"],
  ["createMapinfo", (c, o) => c.createMapinfo(GOOD, GOOD, o), "index"],
];

// Every public call that talks to the core, with good arguments.
const everyCall: [string, Call][] = [
  ["init", (c) => c.init()],
  ["exit", (c) => c.exit()],
  ["registration", (c) => c.registration()],
  ["registerPid", (c) => c.registerPid(DEV)],
  ["addMapping", (c) => c.addMapping(GOOD)],
  ["addAndQueryMapping", (c) => c.addAndQueryMapping(GOOD, "127.0.0.2:6000")],
  ["removeMapping", (c) => c.removeMapping(GOOD)],
  ["getRemoteInfo", (c) => c.getRemoteInfo(GOOD, GOOD)],
  ["createMapinfo", (c) => c.createMapinfo(GOOD, GOOD)],
  ["removeMapinfo", (c) => c.removeMapinfo(GOOD, GOOD)],
];

function cases(): Case[] {
  const out: Case[] = [];
  for (const [slot, call] of addressSlots) {
    for (const [what, bad] of badAddresses) {
      out.push({ name: `${slot}: ${what}`, call: (c) => call(c, bad as never), code: "INVALID_ARGUMENT", registered: true });
    }
  }
  for (const [method, call, kind] of optionSlots) {
    for (const [what, bad] of badOptionObjects) {
      out.push({ name: `${method} options: ${what}`, call: (c) => call(c, bad as never), code: "INVALID_ARGUMENT", registered: true });
    }
    for (const [what, bad] of badIndexes) {
      out.push({ name: `${method} nlClient ${what}`, call: (c) => call(c, { nlClient: bad } as never), code: "INVALID_ARGUMENT" });
    }
    const fields = kind === "mapping" ? [...badFlags, ...badAwaits] : kind === "register" ? badAwaits : [];
    for (const [what, bad] of fields) {
      out.push({ name: `${method} ${what}`, call: (c) => call(c, bad as never), code: "INVALID_ARGUMENT", registered: true });
    }
  }
  for (const [what, bad] of badFlags) {
    out.push({ name: `createMapinfo ${what}`, call: (c) => c.createMapinfo(GOOD, GOOD, bad as never), code: "INVALID_ARGUMENT" });
  }
  for (const [what, bad] of badNames) {
    out.push({ name: `registerPid names: ${what}`, call: (c) => c.registerPid(bad as never), code: "INVALID_ARGUMENT" });
  }
  for (const [what, bad] of badIndexes) {
    for (const method of ["init", "exit", "registration"] as const) {
      out.push({ name: `${method}(${what})`, call: (c) => c[method](bad as never), code: "INVALID_ARGUMENT" });
    }
  }
  for (const [method, call] of everyCall) {
    out.push({ name: `${method} after close`, call, code: "CLOSED", close: true });
  }
  out.push(
    {
      name: "exit twice",
      call: (c) => {
        c.exit();
        c.exit();
      },
      code: "NOT_INITIALIZED",
    },
    { name: "exit of an index never inited", call: (c) => c.exit(5), code: "NOT_INITIALIZED" },
    { name: "addMapping on an index never inited", call: (c) => c.addMapping(GOOD, { nlClient: 5 }), code: "NOT_INITIALIZED" },
    { name: "registerPid on an index never inited", call: (c) => c.registerPid(DEV, { nlClient: 5 }), code: "NOT_INITIALIZED" },
    { name: "createMapinfo on an index never inited", call: (c) => c.createMapinfo(GOOD, GOOD, { nlClient: 5 }), code: "NOT_INITIALIZED" },
    { name: "removeMapping on an index never inited", call: (c) => c.removeMapping(GOOD, { nlClient: 5 }), code: "NOT_INITIALIZED" },
    { name: "addMapping before registerPid", call: (c) => c.addMapping(GOOD), code: "DAEMON_UNAVAILABLE" },
    {
      name: "addAndQueryMapping mixed families",
      call: (c) => c.addAndQueryMapping(GOOD, GOOD6),
      code: "INVALID_ARGUMENT",
      registered: true,
    },
    {
      name: "addAndQueryMapping mixed families, v6 first",
      call: (c) => c.addAndQueryMapping(GOOD6, GOOD),
      code: "INVALID_ARGUMENT",
      registered: true,
    },
    {
      name: "addMapping with an aborted signal",
      call: (c) => c.addMapping(GOOD, { signal: AbortSignal.abort() }),
      code: "ABORTED",
      registered: true,
    },
    { name: "registerPid with an aborted signal", call: (c) => c.registerPid(DEV, { signal: AbortSignal.abort() }), code: "ABORTED" },
    { name: "on with a listener that is not a function", call: (c) => c.on("remoteInfo", null as never), code: "INVALID_ARGUMENT" },
    { name: "once with a listener that is text", call: (c) => c.once("remoteInfo", "x" as never), code: "INVALID_ARGUMENT" },
  );
  return out;
}

const all = cases();

describe("misuse of the client", () => {
  it("covers at least 200 cases", () => {
    expect(all.length).toBeGreaterThanOrEqual(200);
  });

  it.each(all.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const h: Harness = c.registered ? await registered() : await harness();
    if (c.close) await h.client.close();
    const err = await failure(() => c.call(h.client));
    expect(err.code).toBe(c.code);
    expect(err.message.length).toBeGreaterThan(0);
    // Refused before anything went out.
    expect(h.socket.sent).toHaveLength(0);
    expect(h.client.stats().pending).toBe(0);
  });
});

describe("misuse of the constructor", () => {
  const bad: [string, unknown][] = [
    ["null", null],
    ["a number", 1],
    ["timeoutMs 0", { timeoutMs: 0 }],
    ["timeoutMs NaN", { timeoutMs: Number.NaN }],
    ["timeoutMs as text", { timeoutMs: "10" }],
    ["abiVersion 5", { abiVersion: 5 }],
    ["abiVersion as text", { abiVersion: "4" }],
    ["init not an array", { init: 2 }],
    ["init with 64", { init: [64] }],
    ["init with null", { init: [null] }],
    ["remoteInfoLimit -1", { remoteInfoLimit: -1 }],
    ["fd -1", { fd: -1 }],
    ["firstSeq NaN", { firstSeq: Number.NaN }],
  ];
  it.each(bad)("%s", async (_name, options) => {
    const socket = new FakeSocket();
    const core = await instantiateCore(coreModule(), createShim({ sockets: new SocketMap([[3, socket]]), log: () => {} }));
    const err = await failure(() => new PortMapperClient(core, { socket, port: 1, close: () => {} }, options as never));
    expect(err.code).toBe("INVALID_ARGUMENT");
  });
});

describe("misuse of openPortMapperClient", () => {
  const bad: [string, unknown][] = [
    ["null", null],
    ["a number", 1],
    ["an array", []],
    ["protocol 3", { protocol: 3 }],
    ["protocol as text", { protocol: "2" }],
    ["port -1", { port: -1 }],
    ["port 2**32", { port: 2 ** 32 }],
    ["timeoutMs 0", { timeoutMs: 0 }],
    ["init with 64", { init: [64] }],
  ];
  it.each(bad)("%s", async (_name, options) => {
    const err = await failure(() => openPortMapperClient(options as never));
    expect(err.code).toBe("INVALID_ARGUMENT");
  });
});
