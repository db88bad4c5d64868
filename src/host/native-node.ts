// The Node host's native sockets (src/native/iwpm_native.c): the loader and a thin typed wrapper.
//
// Nothing here runs at import time, and nothing imports this module at top level: only opening a
// socket loads native code, so the offline tools (decode, replay, web) work where the addon cannot.
//
// Where the addon comes from, in order: the prebuilt binary for this platform shipped in
// build/native/<platform>-<arch>/ (found from the bundle in build/dist/ and from the sources); else
// a copy built once with the system C compiler and Node's own headers into the user's cache,
// keyed by the C source's hash; else IwpmError NATIVE_UNAVAILABLE saying what is missing.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, constants as fsConstants, mkdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { IwpmError } from "../core/errors.js";
import { linuxErrnoName, wasiErrnoFromLinux } from "../core/linux-errno.js";

/** A failed system call as the addon reports it: the positive Linux errno and the call's name. */
export interface NativeSysError {
  errno: number;
  syscall: string;
}

/** Opaque: a socket handle owned by the addon. */
export type NativeHandle = object;

export interface NativeCounters {
  received: number;
  truncated: number;
  overruns: number;
  sent: number;
  sendErrors: number;
}

/** The addon's interface: numbers and plain objects; a failed call is -errno (Linux) or a NativeSysError. */
export interface NativeNetlink {
  netlinkOpen(
    protocol: number,
    port: number,
    groupsMask: number,
    rcvbuf: number,
    force: boolean,
  ): { handle: NativeHandle; fd: number; port: number; rcvbuf: number } | NativeSysError;
  netlinkRecv(handle: NativeHandle, memory: ArrayBuffer, descPtr: number, dataPtr: number, slotSize: number, max: number): number;
  netlinkSend(handle: NativeHandle, memory: ArrayBuffer, descPtr: number, count: number): number;
  netlinkStart(handle: NativeHandle, onEvent: (kind: number, value: number) => void): number;
  netlinkStop(handle: NativeHandle): number;
  netlinkRef(handle: NativeHandle, ref: boolean): void;
  netlinkClose(handle: NativeHandle): number;
  netlinkCounters(handle: NativeHandle): NativeCounters;
  unixSend(path: string, data: Uint8Array): number;
  tcpReserve(family: number, port: number): { fd: number; port: number } | NativeSysError;
  fdClose(fd: number): number;
}

/** onEvent kinds (src/native/iwpm_native.c). */
export const NativeEvent = { READABLE: 1, OVERRUN: 2, ERROR: 3 } as const;

const ADDON_FILE = "iwpm_native.node";
// Relative to this module: from the bundle (build/dist/) first, then from the sources (src/host/).
const PREBUILT_DIRS = ["../native/", "../../build/native/"];
const SOURCE_DIRS = ["../../src/native/", "../native/"];
const SOURCE_FILES = ["iwpm_native.c", "layout.h"];
// The flags build/native.mjs uses for the shipped binaries, minus the warnings-as-errors a
// user's newer compiler might trip on.
const CFLAGS = ["-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-DNAPI_VERSION=8"];
const REQUIRED_EXPORTS: readonly (keyof NativeNetlink)[] = [
  "netlinkOpen",
  "netlinkRecv",
  "netlinkSend",
  "netlinkStart",
  "netlinkStop",
  "netlinkRef",
  "netlinkClose",
  "netlinkCounters",
  "unixSend",
  "tcpReserve",
  "fdClose",
];

let loaded: NativeNetlink | undefined;

/** `linux-x64`, `linux-arm64`, or `linux-musl-x64` where the C library is musl, not glibc. */
export function nativePlatformKey(): string {
  if (process.platform !== "linux") return `${process.platform}-${process.arch}`;
  return usesMusl() ? `linux-musl-${process.arch}` : `linux-${process.arch}`;
}

// musl's dynamic loader (/lib/ld-musl-<arch>.so.1) is mapped into every process linked against it.
function usesMusl(): boolean {
  try {
    return readFileSync("/proc/self/maps", "utf8").includes("ld-musl-");
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message.split("\n")[0] : String(err);
}

function dlopen(path: string): NativeNetlink {
  const module = { exports: {} as Record<string, unknown> };
  process.dlopen(module, path);
  const missing = REQUIRED_EXPORTS.filter((name) => typeof module.exports[name] !== "function");
  if (missing.length > 0) throw new Error(`${path} lacks ${missing.join(", ")} (an addon of another version)`);
  return module.exports as unknown as NativeNetlink;
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      if (isFile(candidate)) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function cacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg !== undefined && xdg !== "" ? xdg : join(homedir(), ".cache"), "iwpm");
}

/** Builds the addon from the shipped C source into the cache (once per source and platform) and loads it. */
function buildAndLoad(key: string, problems: string[]): NativeNetlink {
  const sourceDir = SOURCE_DIRS.map((dir) => fileURLToPath(new URL(dir, import.meta.url))).find((dir) =>
    SOURCE_FILES.every((file) => isFile(join(dir, file))),
  );
  if (sourceDir === undefined) {
    problems.push(`its C source (src/native/${SOURCE_FILES[0]}) is not in the package`);
    throw unavailable(problems, "reinstall the package");
  }
  const hash = createHash("sha256");
  for (const file of SOURCE_FILES) hash.update(readFileSync(join(sourceDir, file)));
  const dir = join(cacheRoot(), `${key}-${hash.digest("hex").slice(0, 16)}`);
  const target = join(dir, ADDON_FILE);
  if (isFile(target)) {
    try {
      return dlopen(target);
    } catch (err) {
      problems.push(`the cached build ${target} failed to load (${reason(err)})`);
    }
  }
  const cc = findOnPath("cc");
  const include = join(dirname(process.execPath), "..", "include", "node");
  const missing: string[] = [];
  if (cc === undefined) missing.push("no C compiler `cc` on PATH");
  if (!isFile(join(include, "node_api.h"))) missing.push(`no node_api.h at ${include}`);
  if (missing.length > 0) {
    problems.push(...missing);
    throw unavailable(
      problems,
      "install a C compiler and Node's headers (Debian: apt-get install gcc libc6-dev; Alpine: apk add build-base nodejs-dev), " +
        "or use a platform with a prebuilt binary (linux-x64, linux-arm64 with glibc)",
    );
  }
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    execFileSync(cc as string, [...CFLAGS, "-I", include, "-o", tmp, join(sourceDir, SOURCE_FILES[0])], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    // Renamed into place: another process loading the cache never sees a half-written file.
    renameSync(tmp, target);
    return dlopen(target);
  } catch (err) {
    rmSync(tmp, { force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    problems.push(`building it with ${cc} into ${dir} failed: ${stderr || reason(err)}`);
    throw unavailable(problems, "fix the error above, or report it with your platform and compiler version");
  }
}

function unavailable(problems: readonly string[], fix: string): IwpmError {
  return new IwpmError("NATIVE_UNAVAILABLE", `the iwpm socket addon cannot be loaded: ${problems.join("; ")}. To fix: ${fix}.`);
}

/** Loads the addon (once per thread); throws IwpmError NATIVE_UNAVAILABLE saying what is missing. */
export function loadNative(): NativeNetlink {
  if (loaded !== undefined) return loaded;
  const key = nativePlatformKey();
  const problems: string[] = [];
  const tried: string[] = [];
  for (const dir of PREBUILT_DIRS) {
    const path = fileURLToPath(new URL(`${dir}${key}/${ADDON_FILE}`, import.meta.url));
    if (!isFile(path)) {
      tried.push(path);
      continue;
    }
    try {
      loaded = dlopen(path);
      return loaded;
    } catch (err) {
      problems.push(`the prebuilt ${path} failed to load (${reason(err)})`);
    }
  }
  if (problems.length === 0) problems.push(`no prebuilt binary for ${key} (looked for ${tried.join(", ")})`);
  loaded = buildAndLoad(key, problems);
  return loaded;
}

// --- the typed wrapper -----------------------------------------------------------------------------

export interface NativeNetlinkOptions {
  /** Netlink protocol; default 2 (NETLINK_USERSOCK). */
  protocol?: number;
  /** Port id to bind (`nl_pid`); default 0, the kernel picks one. */
  port?: number;
  /** Multicast groups to join, numbered 1..32. */
  groups?: readonly number[];
  /** Receive buffer (SO_RCVBUF) in bytes; default: the system's. */
  recvBufferSize?: number;
  /** Use SO_RCVBUFFORCE to pass net.core.rmem_max when permitted (CAP_NET_ADMIN); falls back to SO_RCVBUF. */
  forceRecvBufferSize?: boolean;
}

const NETLINK_USERSOCK = 2;
const GROUP_MAX = 32;

function isSysError(value: object): value is NativeSysError {
  return "errno" in value;
}

function hint(errno: string, protocol: number): string {
  switch (errno) {
    case "EPERM":
    case "EACCES":
      return "joining multicast groups or binding a privileged protocol needs root or CAP_NET_ADMIN";
    case "EPROTONOSUPPORT":
      return `this kernel has no netlink protocol ${protocol} (NETLINK_RDMA needs the ib_core module loaded)`;
    case "EADDRINUSE":
      return "another socket holds this port; pass port 0 to let the kernel pick one";
    case "EMFILE":
    case "ENFILE":
      return "the process or system is out of file descriptors; close some or raise `ulimit -n`";
    default:
      return "check the protocol, port and groups";
  }
}

/** Runs `fn` so that nothing it throws reaches native code; a throw resurfaces as an ordinary uncaught exception. */
function shielded<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (err) {
      setImmediate(() => {
        throw err;
      });
    }
  };
}

/** A netlink socket of the addon; receive and send work in batches straight in the caller's memory. */
export class NativeNetlinkSocket {
  private constructor(
    private readonly native: NativeNetlink,
    private readonly handle: NativeHandle,
    readonly protocol: number,
    /** The bound port id (`nl_pid`). */
    readonly port: number,
    readonly fd: number,
    /** The receive buffer the kernel granted (SO_RCVBUF as read back: twice the request). */
    readonly recvBufferSize: number,
  ) {}

  /** Opens and binds a socket; throws IwpmError SOCKET_ERROR (errno name and what to do) or NATIVE_UNAVAILABLE. */
  static open(options: NativeNetlinkOptions = {}): NativeNetlinkSocket {
    const protocol = options.protocol ?? NETLINK_USERSOCK;
    let mask = 0;
    for (const group of options.groups ?? []) {
      if (!Number.isInteger(group) || group < 1 || group > GROUP_MAX) {
        throw new IwpmError("INVALID_ARGUMENT", `netlink group ${group} is out of range: groups are numbered 1..${GROUP_MAX}`);
      }
      mask = (mask | (1 << (group - 1))) >>> 0;
    }
    const native = loadNative();
    const opened = native.netlinkOpen(protocol, options.port ?? 0, mask, options.recvBufferSize ?? 0, options.forceRecvBufferSize ?? false);
    if (isSysError(opened)) {
      const name = linuxErrnoName(opened.errno);
      throw new IwpmError(
        "SOCKET_ERROR",
        `netlink socket (protocol ${protocol}, port ${options.port ?? 0}): ${opened.syscall} failed: ${name} (errno ${opened.errno}); ${hint(name, protocol)}`,
        { wasiErrno: wasiErrnoFromLinux(opened.errno), syscall: opened.syscall },
      );
    }
    return new NativeNetlinkSocket(native, opened.handle, protocol, opened.port, opened.fd, opened.rcvbuf);
  }

  /** Reads up to `max` datagrams into `memory` (layout.h); the count, 0 when none wait, or -errno. */
  recvBatch(memory: ArrayBuffer, descPtr: number, dataPtr: number, slotSize: number, max: number): number {
    return this.native.netlinkRecv(this.handle, memory, descPtr, dataPtr, slotSize, max);
  }

  /** Sends `count` datagrams described in `memory`, each descriptor getting its errno; the failures, or -errno. */
  sendBatch(memory: ArrayBuffer, descPtr: number, count: number): number {
    return this.native.netlinkSend(this.handle, memory, descPtr, count);
  }

  /**
   * Watches the socket: `onReadable` when datagrams wait, `onOverrun(total)` when the kernel dropped
   * some (the socket keeps working), `onError(errno)` for any other socket error. Throws
   * IwpmError SOCKET_ERROR when polling cannot start (the socket is closed).
   */
  start(onReadable: () => void, onOverrun: (overruns: number) => void, onError?: (errno: number) => void): void {
    const rc = this.native.netlinkStart(
      this.handle,
      shielded((kind: number, value: number) => {
        if (kind === NativeEvent.READABLE) onReadable();
        else if (kind === NativeEvent.OVERRUN) onOverrun(value);
        else onError?.(value);
      }),
    );
    if (rc < 0) {
      throw new IwpmError("SOCKET_ERROR", `netlink socket ${this.port}: polling failed: ${linuxErrnoName(-rc)}; open a new socket`);
    }
  }

  /** Stops watching; start() resumes. */
  stop(): void {
    this.native.netlinkStop(this.handle);
  }

  /** Keeps the event loop alive while the socket is watched (the default). */
  ref(): void {
    this.native.netlinkRef(this.handle, true);
  }

  /** Lets the process exit while the socket is still watched. */
  unref(): void {
    this.native.netlinkRef(this.handle, false);
  }

  /** Closes the socket; idempotent, and safe inside its own callbacks. */
  close(): void {
    this.native.netlinkClose(this.handle);
  }

  get counters(): NativeCounters {
    return this.native.netlinkCounters(this.handle);
  }
}
