/**
 * NodeNetlinkSocket over real NETLINK_USERSOCK sockets in this process. Other processes may use
 * USERSOCK group 2 at the same time, so every payload carries a random nonce and only matching
 * datagrams count. "Exactly once" is checked without timing: after the datagram under test the
 * sender unicasts a marker to the same receiver, and a receive queue keeps the order of delivery.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Errno } from "../../src/host/errno.js";
import { type NetlinkSocketOptions, type NodeNetlinkSocket, openNetlinkSocket } from "../../src/host/netlink-node.js";
import type { Datagram } from "../../src/host/shim.js";

const IWPM_GROUP = 2;
const groupMask = (group: number) => 1 << (group - 1);
const SAFETY_TIMEOUT_MS = 10_000;

interface Endpoint {
  socket: NodeNetlinkSocket;
  inbox: Datagram[];
  readableCalls: number;
  sendErrors: { err: Error; errno: number }[];
  /** Resolves once a datagram satisfying `match` is in the inbox. */
  waitFor(match: (d: Datagram) => boolean): Promise<Datagram>;
}

const open: Endpoint[] = [];
afterEach(() => {
  for (const e of open.splice(0)) e.socket.close();
});

function endpoint(opts: Omit<NetlinkSocketOptions, "onReadable"> = {}): Endpoint {
  const waiters: {
    match: (d: Datagram) => boolean;
    resolve: (d: Datagram) => void;
  }[] = [];
  const e: Endpoint = {
    inbox: [],
    readableCalls: 0,
    sendErrors: [],
    socket: openNetlinkSocket({
      ...opts,
      onReadable() {
        e.readableCalls++;
        for (let d = e.socket.recvFrom(); d !== null; d = e.socket.recvFrom()) {
          e.inbox.push(d);
          for (const w of waiters.filter((w) => w.match(d))) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(d);
          }
        }
      },
      onSendError: (err, errno) => e.sendErrors.push({ err, errno }),
    }),
    waitFor(match) {
      const found = e.inbox.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
  open.push(e);
  return e;
}

const encoder = new TextEncoder();
const nonce = () => crypto.getRandomValues(new Uint32Array(2)).join("-");
const text = (d: Datagram) => new TextDecoder().decode(d.bytes);
const carrying = (payload: string) => (d: Datagram) => text(d) === payload;

describe("NodeNetlinkSocket on NETLINK_USERSOCK", () => {
  it("binds a kernel-chosen port by default", () => {
    const a = endpoint();
    const b = endpoint();
    expect(a.socket.port).toBeGreaterThan(0);
    expect(b.socket.port).not.toBe(a.socket.port);
    expect(a.socket.protocol).toBe(2);
  });

  it("carries unicast both ways with the sender's port as source", async () => {
    const a = endpoint();
    const b = endpoint();
    const id = nonce();
    expect(a.socket.sendTo(encoder.encode(`a->b ${id}`), b.socket.port, 0)).toBe(Errno.SUCCESS);
    const atB = await b.waitFor(carrying(`a->b ${id}`));
    expect(atB.port).toBe(a.socket.port);
    expect(atB.groups).toBe(0);
    expect(atB.truncatedLength).toBeUndefined();

    expect(b.socket.sendTo(encoder.encode(`b->a ${id}`), a.socket.port, 0)).toBe(Errno.SUCCESS);
    const atA = await a.waitFor(carrying(`b->a ${id}`));
    expect(atA.port).toBe(b.socket.port);

    await vi.waitFor(() => expect(a.socket.counters.sent).toBe(1));
    await vi.waitFor(() => expect(b.socket.counters.sent).toBe(1));
    expect(b.socket.counters.received).toBeGreaterThanOrEqual(1);
    expect(a.sendErrors).toEqual([]);
    expect(b.sendErrors).toEqual([]);
  });

  it("sends its own copy: the caller may reuse the array at once", async () => {
    const a = endpoint();
    const b = endpoint();
    const id = nonce();
    const buf = encoder.encode(`copy ${id}`);
    // The addon writes a send at once only while its queue is empty; this one has to wait.
    a.socket.sendTo(encoder.encode(`first ${id}`), b.socket.port, 0);
    a.socket.sendTo(buf, b.socket.port, 0);
    buf.fill(0x2a);
    await b.waitFor(carrying(`copy ${id}`));
  });

  it("coalesces a burst into few onReadable calls and keeps the order", async () => {
    const a = endpoint();
    const b = endpoint();
    const id = nonce();
    const count = 20;
    for (let i = 0; i < count; i++) a.socket.sendTo(encoder.encode(`${id} ${i}`), b.socket.port, 0);
    await b.waitFor(carrying(`${id} ${count - 1}`));
    const ours = b.inbox.filter((d) => text(d).startsWith(id)).map(text);
    expect(ours).toEqual(Array.from({ length: count }, (_, i) => `${id} ${i}`));
    expect(b.readableCalls).toBeLessThan(count);
  });

  it("delivers a multicast to group 2 exactly once to each member, without a send error", async () => {
    const sender = endpoint();
    const member = endpoint({ groups: [IWPM_GROUP] });
    const member2 = endpoint({ groups: [IWPM_GROUP] });
    const outsider = endpoint();
    const id = nonce();
    const payload = `multicast ${id}`;
    // Port 0 with a group: the kernel broadcasts, then unicasts to port 0, where nobody listens.
    expect(sender.socket.sendTo(encoder.encode(payload), 0, groupMask(IWPM_GROUP))).toBe(Errno.SUCCESS);

    for (const receiver of [member, member2, outsider, sender]) {
      const marker = `marker ${id}`;
      sender.socket.sendTo(encoder.encode(marker), receiver.socket.port, 0);
      await receiver.waitFor(carrying(marker));
    }
    for (const m of [member, member2]) {
      const copies = m.inbox.filter(carrying(payload));
      expect(copies).toHaveLength(1);
      expect(copies[0]?.port).toBe(sender.socket.port);
      expect(copies[0]?.groups).toBe(groupMask(IWPM_GROUP));
    }
    expect(outsider.inbox.filter(carrying(payload))).toHaveLength(0);
    expect(sender.inbox.filter(carrying(payload))).toHaveLength(0);

    await vi.waitFor(() => expect(sender.socket.counters.sent).toBe(5));
    expect(sender.socket.counters.sendErrors).toBe(0);
    expect(sender.sendErrors).toEqual([]);
  });

  it("reports ECONNREFUSED for a port nobody has bound through onSendError", async () => {
    // `a` first: the kernel hands a freed port id to the next socket it autobinds.
    const a = endpoint();
    const gone = endpoint();
    const freePort = gone.socket.port;
    gone.socket.close();
    expect(a.socket.sendTo(encoder.encode("anyone?"), freePort, 0)).toBe(Errno.SUCCESS);
    await vi.waitFor(() => expect(a.sendErrors).toHaveLength(1));
    expect(a.sendErrors[0]?.errno).toBe(Errno.ECONNREFUSED);
    expect(a.sendErrors[0]?.err).toMatchObject({ code: "ECONNREFUSED" });
    expect(a.socket.counters).toMatchObject({ sent: 0, sendErrors: 1 });

    // The socket stays usable.
    const b = endpoint();
    const id = nonce();
    a.socket.sendTo(encoder.encode(id), b.socket.port, 0);
    await b.waitFor(carrying(id));
  });

  it("flags a datagram longer than 64 KiB as truncated, with its real length", async () => {
    const a = endpoint();
    const b = endpoint();
    const big = new Uint8Array(70_000).fill(7);
    const exact = new Uint8Array(65_536).fill(9);
    a.socket.sendTo(exact, b.socket.port, 0);
    a.socket.sendTo(big, b.socket.port, 0);
    const cut = await b.waitFor((d) => d.truncatedLength !== undefined);
    expect(cut.bytes.length).toBe(65_536);
    expect(cut.truncatedLength).toBe(70_000);
    const whole = b.inbox.find((d) => d.bytes[0] === 9);
    expect(whole?.bytes.length).toBe(65_536);
    expect(whole?.truncatedLength).toBeUndefined();
    expect(b.socket.counters.truncated).toBe(1);
  });

  it("answers EBADF after close() and tolerates a second close()", () => {
    const a = endpoint();
    a.socket.close();
    a.socket.close();
    expect(a.socket.sendTo(encoder.encode("late"), 1, 0)).toBe(Errno.EBADF);
    expect(a.socket.recvFrom()).toBeNull();
    a.socket.ref();
    a.socket.unref();
  });
});

// ---- process exit: the socket must leave no handle behind ----

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const HOST_SOURCES = ["errno.ts", "shim.ts", "fifo.ts", "netlink-node.ts"];

/** Transpiles src/host into a temp dir next to a link to node_modules, so plain node can run it. */
function buildHostModules(): string {
  const dir = mkdtempSync(join(tmpdir(), "iwpm-netlink-exit-"));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  for (const file of HOST_SOURCES) {
    const source = readFileSync(join(ROOT, "src/host", file), "utf8");
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.ES2022,
        target: ts.ScriptTarget.ES2022,
      },
    });
    writeFileSync(join(dir, file.replace(/\.ts$/, ".js")), outputText);
  }
  return dir;
}

function runNode(dir: string, script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(dir, "child.mjs");
  writeFileSync(file, script);
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [file], { cwd: dir });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const guard = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`child did not exit on its own within ${SAFETY_TIMEOUT_MS} ms\n${stdout}${stderr}`));
    }, SAFETY_TIMEOUT_MS);
    let code: number | null = null;
    child.on("exit", (exitCode) => {
      clearTimeout(guard);
      code = exitCode;
    });
    // 'close' follows 'exit' once the output has been read to the end.
    child.on("close", () => done({ code, stdout, stderr }));
  });
}

const PROLOGUE = `
import { openNetlinkSocket } from "./netlink-node.js";
const enc = new TextEncoder();
`;

describe("NodeNetlinkSocket and process exit", () => {
  it(
    "lets a process that opened, sent and closed its sockets exit by itself",
    async () => {
      const dir = buildHostModules();
      try {
        const { code, stdout, stderr } = await runNode(
          dir,
          `${PROLOGUE}
let got = 0;
const b = openNetlinkSocket({ onReadable() {
	while (b.recvFrom() !== null) got++;
	a.close();
	b.close();
	console.log("received " + got);
} });
const a = openNetlinkSocket({ onReadable() {} });
a.sendTo(enc.encode("bye"), b.port, 0);
a.sendTo(enc.encode("nobody"), 1, 0); // refused later; the socket closes first
`,
        );
        expect(stderr).toBe("");
        expect(stdout.trim()).toBe("received 1");
        expect(code).toBe(0);

        const closedAtOnce = await runNode(
          dir,
          `${PROLOGUE}
const a = openNetlinkSocket({ onReadable() {} });
const b = openNetlinkSocket({ groups: [2], onReadable() {} });
a.sendTo(enc.encode("x"), b.port, 0);
a.sendTo(enc.encode("y"), 0, 2);
a.close();
b.close();
`,
        );
        expect(closedAtOnce).toMatchObject({ code: 0, stderr: "" });

        const unrefd = await runNode(
          dir,
          `${PROLOGUE}
const a = openNetlinkSocket({ onReadable() {} });
a.unref();
console.log("port " + a.port);
`,
        );
        expect(unrefd.code).toBe(0);
        expect(unrefd.stdout).toMatch(/^port \d+/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    4 * SAFETY_TIMEOUT_MS,
  );
});
