/**
 * unixSend (sd_notify's NOTIFY_SOCKET, syslog's /dev/log) against a real AF_UNIX datagram receiver
 * (a small C program: Node cannot bind one), and tcpReserve's port reservations against real TCP.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { chmodSync, mkdtempSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { bytes, EADDRINUSE, EAFNOSUPPORT, EBADF, ECONNREFUSED, ENOENT, helper, native, nonce } from "./support.js";

const AF_INET = 2;
const AF_INET6 = 10;
const ENAMETOOLONG = 36;

const children: ChildProcessWithoutNullStreams[] = [];
const reserved: number[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill();
  for (const fd of reserved.splice(0)) native().fdClose(fd);
});

/** Starts the C receiver on `path` and resolves once it is bound; `received` resolves with what it got. */
async function receiver(path: string): Promise<{ received: Promise<string> }> {
  const child = spawn(helper("unix-recv"), [path]);
  children.push(child);
  const lines: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      lines.push(line);
      if (lines.length > 1) return;
      if (line === "ready") resolve();
      else reject(new Error(`unix-recv: ${line}`));
    });
    child.once("exit", (code) => reject(new Error(`unix-recv exited ${code}`)));
  });
  const received = new Promise<string>((resolve) => child.once("close", () => resolve(lines.slice(1).join("\n"))));
  await ready;
  return { received };
}

function reserve(family: number, port: number) {
  const r = native().tcpReserve(family, port);
  if ("fd" in r) reserved.push(r.fd);
  return r;
}

function release(fd: number): number {
  reserved.splice(reserved.indexOf(fd), 1);
  return native().fdClose(fd);
}

function connectRefused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.on("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
  });
}

describe("unixSend", () => {
  it("sends one datagram to a socket at a path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "iwpm-unix-"));
    chmodSync(dir, 0o755);
    const path = join(dir, "notify.sock");
    const { received } = await receiver(path);
    const message = `READY=1 ${nonce()}`;
    expect(native().unixSend(path, bytes(message))).toBe(0);
    expect(await received).toBe(message);
  });

  it("sends to an abstract '@name' as NOTIFY_SOCKET spells it", async () => {
    const name = `@iwpm-test-${nonce()}`;
    const { received } = await receiver(name);
    const message = `STATUS=abstract ${nonce()}`;
    expect(native().unixSend(name, bytes(message))).toBe(0);
    expect(await received).toBe(message);
  });

  it("returns -errno for a missing socket or an impossible path", () => {
    expect(native().unixSend(join(tmpdir(), `iwpm-missing-${nonce()}`), bytes("x"))).toBe(-ENOENT);
    expect(native().unixSend(`@iwpm-nobody-here-${nonce()}`, bytes("x"))).toBe(-ECONNREFUSED);
    expect(native().unixSend(`/${"x".repeat(200)}`, bytes("x"))).toBe(-ENAMETOOLONG);
    expect(() => native().unixSend("/dev/log", "text" as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe("tcpReserve", () => {
  it("holds a port without listening, refuses a second holder, and frees it on fdClose", async () => {
    const first = reserve(AF_INET, 0);
    if (!("fd" in first)) throw new Error(`tcpReserve: ${first.syscall} errno ${first.errno}`);
    expect(first.port).toBeGreaterThan(0);
    expect(reserve(AF_INET, first.port)).toEqual({ errno: EADDRINUSE, syscall: "bind" });
    expect(await connectRefused(first.port)).toBe("ECONNREFUSED");
    expect(release(first.fd)).toBe(0);
    const again = reserve(AF_INET, first.port);
    expect(again).toMatchObject({ port: first.port });
  });

  it("reserves an IPv6 port that covers IPv4 too (IPV6_V6ONLY off)", () => {
    const v6 = reserve(AF_INET6, 0);
    if (!("fd" in v6)) throw new Error(`tcpReserve: ${v6.syscall} errno ${v6.errno}`);
    expect(v6.port).toBeGreaterThan(0);
    expect(reserve(AF_INET, v6.port)).toEqual({ errno: EADDRINUSE, syscall: "bind" });
  });

  it("returns errno values for a bad family or descriptor", () => {
    expect(native().tcpReserve(3, 0)).toEqual({ errno: EAFNOSUPPORT, syscall: "socket" });
    expect(native().fdClose(-1)).toBe(-EBADF);
  });
});
