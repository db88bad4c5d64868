// The real Linux kernel as the peer: Debian's 6.1 kernel in QEMU, iw_cm over Soft-iWARP on a dummy
// interface, rping as the RDMA application, and as its port mapper the real iwpmd (recorded by our
// preload library) or our own `iwpm serve --protocol 20`. Each scenario is one VM run
// (test/vm/scripts/*.sh); the assertions read the files it brings back. Skipped only when the
// harness's tools are missing and IWPM_VM is not 1 (docs/kernel-testing.md).

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildPreload } from "../../build/preload.mjs";
import { ensureBuilt } from "../support/agent.js";
import {
  buildVmArtifacts,
  type Decoded,
  decodeCapture,
  keepFailedRuns,
  portOf,
  replayCapture,
  runVm,
  tsharkDissected,
  tsharkNetlink,
  type VmRun,
  vmReadiness,
} from "./harness.js";

const required = process.env.IWPM_VM === "1";
const readiness = vmReadiness();
if (!readiness.ok && !required) console.warn(`[vm/kernel] skipped (set IWPM_VM=1 to make this a failure): ${readiness.reason}`);

/** siw0's address inside the VM (test/vm/vm.sh) and the port rping listens on (scripts/lib.sh). */
const ADDR = "192.0.2.1";
const LISTENER = `${ADDR}:7174`;
/** The kernel's answer to every REMOTE_INFO in 6.1: -EINVAL, although it stores and uses the info. */
const REMOTE_INFO_STATUS = -22;
const NO_PORT_MAP = 1;
/** A shell's status for a process killed by SIGKILL. */
const SIGKILLED = 128 + 9;
const VM_HOOK_TIMEOUT = 900_000;

// Each scenario's VM is booted once; all of them start together when the first suite begins.
const runs = new Map<string, Promise<VmRun>>();
let prepared: Promise<void> | undefined;
function scenario(name: string, start: () => Promise<VmRun>): Promise<VmRun> {
  prepared ??= (async () => {
    if (!readiness.ok) throw new Error(`the VM harness cannot run here (IWPM_VM=1): ${readiness.reason}`);
    ensureBuilt();
    await buildPreload();
    buildVmArtifacts();
  })();
  let run = runs.get(name);
  if (run === undefined) {
    run = prepared.then(start);
    // Awaited by its own suite later; until then a failed preparation is not an unhandled rejection.
    run.catch(() => {});
    runs.set(name, run);
  }
  return run;
}
const iwpmdRun = () => scenario("iwpmd", () => runVm("iwpmd.sh"));
const serveRun = () => scenario("serve", () => runVm("serve.sh", { args: ["3"] }));
const mappedRun = () => scenario("mapped", () => runVm("serve.sh", { siw: "mapped", args: ["1"] }));
const intruderRun = () => scenario("intruder", () => runVm("intruder.sh"));
const startAll = () => [iwpmdRun(), serveRun(), mappedRun(), intruderRun()];

const runDirs = keepFailedRuns();
beforeEach(({ onTestFailed }) => onTestFailed(runDirs.failed));
// A VM that failed fails its suite's beforeAll, not a test: such a run is kept whatever happens.
afterAll(async () => {
  const settled = await Promise.all([...runs.values()].map((r) => r.catch(() => undefined)));
  runDirs.cleanUp(settled.filter((r): r is VmRun => r?.status === 0));
});

/** An rping client connected and pinged; when not, the message has its output, the diagnosis and the run's log. */
function expectPinged(run: VmRun, name: string): void {
  const story = () => [`${name}.txt`, `${name}.diag.txt`, "test.log"].map((f) => `--- ${f}:\n${run.text(f)}`).join("\n");
  expect(run.exitOf(name), story()).toBe(0);
  expect(run.text(`${name}.txt`), story()).toMatch(/ping data: rdma-ping-2/);
}

function ok(run: VmRun): VmRun {
  expect(run.status, run.explain()).toBe(0);
  return run;
}

/** The capture decodes cleanly: every message known and well formed, per `iwpm decode`. */
function decodeClean(run: VmRun, name: string): Decoded[] {
  const file = `${run.out}/${name}`;
  const { status, messages, stderr } = decodeCapture(file);
  expect(status, stderr).toBe(0);
  expect(messages.length, `${file} holds no message`).toBeGreaterThan(0);
  // Only iwpm messages and NLMSG_DONE pass between the kernel and its port mapper.
  const bad = messages.filter(
    (m) =>
      m.status !== 0 ||
      !["iwpm", "done"].includes(m.kind) ||
      (m.kind === "iwpm" && m.opName === undefined) ||
      (m.unknownAttrs?.length ?? 0) > 0,
  );
  expect(bad, `unknown or malformed messages in ${file}`).toEqual([]);
  expect(stderr).not.toMatch(/malformed|unknown/i);
  return messages;
}

const fromKernel = (ms: Decoded[], op: string) => ms.filter((m) => m.kind === "iwpm" && m.direction === "to_daemon" && m.opName === op);
const fromDaemon = (ms: Decoded[], op: string) => ms.filter((m) => m.kind === "iwpm" && m.direction === "to_client" && m.opName === op);

/**
 * The kernel handles a daemon's messages as netlink dumps, so each one it receives is answered by
 * an NLMSG_DONE with the same sequence number carrying an int status. The NLMSG_DONE that ends a
 * multi-part MAPINFO datagram of the kernel's own is not such an answer.
 */
function expectDoneAfterEveryDaemonMessage(ms: Decoded[]): void {
  const daemonSent = ms.filter((m) => m.kind === "iwpm" && m.direction === "to_client");
  const answers = ms.filter((m) => m.kind === "done" && m.direction === "to_daemon" && m.part === 0);
  expect(daemonSent.length).toBeGreaterThan(0);
  for (const sent of daemonSent) {
    const done = answers.find((d) => d.seq === sent.seq && d.index > sent.index);
    expect(done, `no NLMSG_DONE answers the daemon's ${sent.label} #${sent.index} (seq ${sent.seq})`).toBeDefined();
    expect(done?.pid, `NLMSG_DONE #${done?.index} goes to the daemon's port`).toBe(sent.pid);
    const expected = sent.opName === "REMOTE_INFO" ? REMOTE_INFO_STATUS : 0;
    expect(done?.control?.value, `status of the NLMSG_DONE answering ${sent.label} #${sent.index}`).toBe(expected);
  }
}

/** Each kernel request got the daemon's reply for its sequence number, without an error. */
function expectAnswered(ms: Decoded[], op: string): Decoded[] {
  const requests = fromKernel(ms, op);
  const replies = fromDaemon(ms, op);
  for (const req of requests) {
    const reply = replies.find((r) => r.attrs.requestSeq === req.seq);
    expect(reply, `no ${op} reply for the kernel's request #${req.index} (seq ${req.seq})`).toBeDefined();
    if (op !== "REG_PID") expect(reply?.attrs.err, `${op} reply #${reply?.index}`).toBe(0);
  }
  return replies;
}

/** The service logged no failure and no error: the kernel's NLMSG_DONE answers, -22 included, pass silently. */
function expectQuietLog(log: string): void {
  expect(log).toMatch(/iwpm serve: NETLINK_RDMA \(20\), netlink port \d+/);
  expect(log.split("\n").filter((l) => /error|failed|drop|unexpected|malformed/i.test(l))).toEqual([]);
}

describe.skipIf(!readiness.ok && !required)("the real kernel with the real iwpmd", () => {
  let run: VmRun;
  beforeAll(async () => {
    startAll();
    run = ok(await iwpmdRun());
  }, VM_HOOK_TIMEOUT);

  it("rping connects through iw_cm and iwpmd, and the kernel's messages all reach iwpmd", () => {
    expectPinged(run, "client-plain");
    // iwpmd ran throughout (its NETLINK_RDMA socket bound for real) and exited cleanly on SIGTERM.
    expect(run.exitOf("iwpmd-plain"), run.text("iwpmd-plain.log")).toBe(0);
    // The kernel logs every message it cannot deliver to the daemon, and every rejected query.
    const dmesg = run.text("dmesg-plain.txt");
    expect(dmesg).toMatch(/SoftiWARP attached/);
    expect(dmesg).not.toMatch(/Unable to send a nlmsg|Received a Reject/);
  });

  it("under the preload library (capture only) rping still works, and the capture decodes without unknowns", () => {
    expectPinged(run, "client-capture");
    expect(run.exitOf("iwpmd-capture"), run.text("iwpmd-capture.log")).toBe(0);
    const ms = decodeClean(run, "iwpmd.pcap");
    for (const op of ["REG_PID", "ADD_MAPPING", "QUERY_MAPPING"]) {
      expect(fromKernel(ms, op).length, `kernel ${op} requests`).toBeGreaterThan(0);
      expectAnswered(ms, op);
    }
    expect(fromDaemon(ms, "HELLO").length).toBe(1);
    expect(fromDaemon(ms, "REMOTE_INFO").length).toBeGreaterThan(0);
    expect(fromKernel(ms, "REMOVE_MAPPING").length).toBeGreaterThan(0);
    // Stock siw asks for no port mapping, so iwpmd maps each address to itself.
    const add = fromKernel(ms, "ADD_MAPPING").find((m) => m.attrs.local === LISTENER);
    expect(add?.attrs.flags).toBe(NO_PORT_MAP);
    expect(fromDaemon(ms, "ADD_MAPPING").find((m) => m.attrs.local === LISTENER)?.attrs.mappedLocal).toBe(LISTENER);
  });

  it("tshark reads the same netlink messages from the capture", () => {
    const ours = decodeCapture(`${run.out}/iwpmd.pcap`).messages;
    const theirs = tsharkNetlink(`${run.out}/iwpmd.pcap`);
    expect(theirs.status, theirs.stderr).toBe(0);
    expect(new Set(theirs.messages.map((m) => m.family))).toEqual(new Set([20]));
    expect(theirs.messages.map((m) => [m.type, m.seq])).toEqual(ours.map((m) => [m.type, m.seq]));
  });

  it("the project's Wireshark dissector shows every iwpm message of the kernel exchange, none malformed", () => {
    const ours = decodeCapture(`${run.out}/iwpmd.pcap`).messages.filter((m) => m.kind === "iwpm");
    const dissected = tsharkDissected(`${run.out}/iwpmd.pcap`, run.out);
    expect(dissected.status, dissected.stderr).toBe(0);
    expect(dissected.stderr).not.toMatch(/Lua: Error/);
    expect(dissected.malformed).toBe(0);
    // The op is the low 10 bits of the RDMA netlink type (reference §1.4).
    expect(dissected.ops).toEqual(ours.map((m) => m.type & 0x3ff));
  });

  it("the kernel answers each of iwpmd's messages with NLMSG_DONE, and REMOTE_INFO with -22", () => {
    expectDoneAfterEveryDaemonMessage(decodeClean(run, "iwpmd.pcap"));
  });

  it("iwpm replay shows the mapping table the kernel held when iwpmd stopped", () => {
    const { status, state, stderr } = replayCapture(`${run.out}/iwpmd.pcap`);
    expect(status, stderr).toBe(0);
    expect(state.mappings.map((m) => [m.local, m.mapped, m.flags])).toEqual([[LISTENER, LISTENER, NO_PORT_MAP]]);
    expect(state.anomalies).toEqual([]);
  });

  it("with no port mapper at all, rping still connects and the kernel logs the undeliverable messages", () => {
    expectPinged(run, "client-nodaemon");
    expect(run.text("dmesg.txt")).toMatch(/iwpm_\w+: Unable to send a nlmsg \(client = 2\)/);
  });
});

describe.skipIf(!readiness.ok && !required)("the real kernel with iwpm serve --protocol 20 as its only port mapper", () => {
  let run: VmRun;
  let first: Decoded[];
  let second: Decoded[];
  beforeAll(async () => {
    run = ok(await serveRun());
    first = decodeClean(run, "serve-1.pcap");
    second = decodeClean(run, "serve-2.pcap");
  }, VM_HOOK_TIMEOUT);

  it("rping connects over siw several times, with the service serving REG_PID, ADD, QUERY and REMOTE_INFO", () => {
    for (const name of ["client-1-1", "client-1-2", "client-1-3", "client-2"]) {
      expectPinged(run, name);
    }
    expectAnswered(first, "REG_PID");
    expect(expectAnswered(first, "ADD_MAPPING").map((m) => [m.attrs.local, m.attrs.mappedLocal])).toEqual([[LISTENER, LISTENER]]);
    // One query per connection, each answered; the service told the kernel about the remote side.
    expect(fromKernel(first, "QUERY_MAPPING").length).toBe(3);
    expect(expectAnswered(first, "QUERY_MAPPING").map((m) => m.attrs.mappedRemote)).toEqual([LISTENER, LISTENER, LISTENER]);
    expect(fromDaemon(first, "REMOTE_INFO").length).toBe(3);
    // Each connection's own mapping is removed when it closes, and the service lets it go.
    const removed = fromKernel(first, "REMOVE_MAPPING");
    expect(removed.length).toBe(3);
    for (const m of removed) expect(run.text("serve-1.log")).toContain(`removed ${m.attrs.local} (client 2, refs 0)`);
  });

  it("the kernel's NLMSG_DONE answers, REMOTE_INFO's -22 included, are taken without an error logged", () => {
    expectDoneAfterEveryDaemonMessage(first);
    expectDoneAfterEveryDaemonMessage(second);
    expectQuietLog(run.text("serve-1.log"));
    expectQuietLog(run.text("serve-2.log"));
    // The first service was killed (SIGKILL); the second exits cleanly on SIGTERM.
    expect(run.exitOf("serve-1")).toBe(SIGKILLED);
    expect(run.exitOf("serve-2")).toBe(0);
  });

  it("after the service is killed and started again, the kernel resends its mapping (MAPINFO, MAPINFO_NUM) and the new service acks it", () => {
    expect(fromDaemon(second, "MAPINFO").length, "the new service's MAPINFO request").toBe(1);
    const records = fromKernel(second, "MAPINFO").filter((m) => m.attrs.local !== undefined);
    expect(records.map((m) => [m.attrs.local, m.attrs.mapped])).toEqual([[LISTENER, LISTENER]]);
    const count = fromKernel(second, "MAPINFO_NUM");
    expect(count.map((m) => m.attrs.sendNum)).toEqual([1]);
    const ack = fromDaemon(second, "MAPINFO_NUM");
    expect(ack.map((m) => [m.attrs.requestSeq, m.attrs.sendNum, m.attrs.ackNum])).toEqual([[count[0]?.seq, 1, 1]]);
    expect(run.text("serve-2.log")).toMatch(new RegExp(`mapinfo: ${LISTENER} -> ${LISTENER} `));
    // The restored mapping serves the next connection and is removed when rping's server goes.
    expect(expectAnswered(second, "QUERY_MAPPING").map((m) => m.attrs.mappedRemote)).toEqual([LISTENER]);
    expect(fromKernel(second, "REMOVE_MAPPING").map((m) => m.attrs.local)).toContain(LISTENER);
  });
});

describe.skipIf(!readiness.ok && !required)("the real kernel with a siw that asks for real port mappings", () => {
  let run: VmRun;
  let first: Decoded[];
  let second: Decoded[];
  let listenerMapped: string;
  beforeAll(async () => {
    run = ok(await mappedRun());
    first = decodeClean(run, "serve-1.pcap");
    second = decodeClean(run, "serve-2.pcap");
  }, VM_HOOK_TIMEOUT);

  it("the kernel asks without IW_F_NO_PORT_MAP and the service assigns a mapped port of its own", () => {
    const add = fromKernel(first, "ADD_MAPPING");
    expect(add.map((m) => [m.attrs.local, m.attrs.flags])).toEqual([[LISTENER, 0]]);
    const [reply] = expectAnswered(first, "ADD_MAPPING");
    listenerMapped = String(reply?.attrs.mappedLocal);
    expect(listenerMapped.startsWith(`${ADDR}:`), listenerMapped).toBe(true);
    expect(portOf(listenerMapped)).not.toBe(portOf(LISTENER));
    expect(run.text("serve-1.log")).toContain(`add: ${LISTENER} -> ${listenerMapped} `);

    const [query] = fromKernel(first, "QUERY_MAPPING");
    expect(query?.attrs.flags).toBe(0);
    const [answer] = expectAnswered(first, "QUERY_MAPPING");
    expect(answer?.attrs.mappedRemote).toBe(listenerMapped);
    expect(portOf(answer?.attrs.mappedLocal)).not.toBe(portOf(answer?.attrs.local));
    expectDoneAfterEveryDaemonMessage(first);
    expectQuietLog(run.text("serve-1.log"));
  });

  it("rping's data path fails by design (siw listens on the unmapped port)", () => {
    // The mapped port is held as iwpmd holds it, bound and not listening, so the connection to it
    // is refused or never completes; either way rping does not get through (its run is bounded).
    expect(run.exitOf("client-1-1"), run.text("client-1-1.txt")).not.toBe(0);
  });

  it("after a restart the kernel's resent mapping is restored in the service, its port held again", () => {
    const records = fromKernel(second, "MAPINFO").filter((m) => m.attrs.local !== undefined);
    expect(records.map((m) => [m.attrs.local, m.attrs.mapped, m.attrs.flags])).toEqual([[LISTENER, listenerMapped, 0]]);
    const ack = fromDaemon(second, "MAPINFO_NUM");
    expect(ack.map((m) => [m.attrs.sendNum, m.attrs.ackNum])).toEqual([[1, 1]]);
    expect(run.text("serve-2.log")).toContain(`mapinfo: ${LISTENER} -> ${listenerMapped} `);
    // SIGUSR1's table: the mapping, and the mapped TCP port reserved again by the new service.
    const row = run
      .text("serve-2.log")
      .split("\n")
      .find((l) => l.includes(LISTENER) && /^\s*\d+\s/.test(l));
    expect(row, run.text("serve-2.log")).toBeDefined();
    expect(row?.split(/\s+/).filter(Boolean).slice(1)).toEqual([LISTENER, listenerMapped, "1", "yes"]);
    // The next query is answered with the restored mapping.
    expect(expectAnswered(second, "QUERY_MAPPING").map((m) => m.attrs.mappedRemote)).toEqual([listenerMapped]);
    expectDoneAfterEveryDaemonMessage(second);
    expectQuietLog(run.text("serve-2.log"));
  });
});

describe.skipIf(!readiness.ok && !required)("an unprivileged local process and iwpm serve on NETLINK_RDMA", () => {
  type Line = { what?: string; sent?: boolean; code?: string; received?: string; port?: number; uid?: number; done?: boolean };
  let run: VmRun;
  const lines = (name: string): Line[] =>
    run
      .text(name)
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Line);
  beforeAll(async () => {
    run = ok(await intruderRun());
  }, VM_HOOK_TIMEOUT);

  it("cannot reach the service: the kernel refuses each send with EPERM, and the service learns nothing", () => {
    expect(run.exitOf("nobody"), run.text("nobody.jsonl")).toBe(0);
    const nobody = lines("nobody.jsonl");
    expect(nobody[0]?.uid).toBe(65534);
    const attempts = nobody.filter((l) => l.what !== undefined);
    expect(attempts.map((l) => l.what)).toEqual([
      "REG_PID to the service",
      "ADD_MAPPING to the service",
      "REG_PID to the port mappers' group",
    ]);
    expect(attempts.map((l) => [l.sent, l.code])).toEqual(attempts.map(() => [false, "EPERM"]));
    expect(nobody.filter((l) => l.received !== undefined)).toEqual([]);
    expect(nobody.at(-1)?.done).toBe(true);
    const log = run.text("serve.log");
    expect(log).not.toContain(`from netlink port ${nobody[0]?.port}`);
    expect(log).not.toContain(`${ADDR}:9999`);
    expect(run.text("serve.log")).not.toContain(`${ADDR}:9999`);
  });

  it("the same process as root is served, so privilege is what stopped it", () => {
    expect(run.exitOf("root"), run.text("root.jsonl")).toBe(0);
    const root = lines("root.jsonl");
    expect(root.filter((l) => l.what !== undefined).map((l) => l.sent)).toEqual([true, true, true]);
    const fromService = root.filter((l) => l.received !== undefined && l.port !== 0);
    expect(fromService.length, run.text("root.jsonl")).toBeGreaterThan(0);
    expect(run.text("serve.log")).toContain(`registered from netlink port ${root[0]?.port}`);
    expect(run.text("serve.log")).toContain(`${ADDR}:9998`);
  });
});
