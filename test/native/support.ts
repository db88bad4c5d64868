// Shared by the native addon's tests: the addon as built by `npm run build`, the C helper
// programs (compiled here with the system gcc), and readers/writers of layout.h's descriptors.

import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { NativeNetlink } from "../../src/host/native-node.js";
import { loadNative, nativePlatformKey } from "../../src/host/native-node.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const ADDON = join(ROOT, "build", "native", nativePlatformKey(), "iwpm_native.node");
export const NETLINK_USERSOCK = 2;
export const NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups"];

// layout.h, read back independently of the addon.
export const RX = { SIZE: 32, LEN: 0, PORT: 4, GROUPS: 8, PID: 12, UID: 16, GID: 20, FLAGS: 24 } as const;
export const RXF_CREDS = 1;
export const RXF_TRUNC = 2;
export const TX = { SIZE: 24, PTR: 0, LEN: 4, PORT: 8, GROUPS: 12, ERRNO: 16, TAG: 20 } as const;

// Linux errno numbers the tests expect (asm-generic/errno-base.h, errno.h).
export const EBADF = 9;
export const EFAULT = 14;
export const EAFNOSUPPORT = 97;
export const EADDRINUSE = 98;
export const ECONNREFUSED = 111;
export const ENOENT = 2;

export const native = (): NativeNetlink => loadNative();
export const groupMask = (group: number) => 1 << (group - 1);
export const nonce = () => crypto.getRandomValues(new Uint32Array(2)).join("-");

let helperDir: string | undefined;

/** Compiles test/native/c/<name>.c once per run into a directory that `nobody` may execute from. */
export function helper(name: string): string {
  if (helperDir === undefined) {
    helperDir = mkdtempSync(join(tmpdir(), "iwpm-native-test-"));
    chmodSync(helperDir, 0o755);
  }
  const out = join(helperDir, name);
  execFileSync("gcc", ["-O2", "-Wall", "-Wextra", "-Werror", "-o", out, join(ROOT, "test", "native", "c", `${name}.c`)]);
  chmodSync(out, 0o755);
  return out;
}

export interface RxDatagram {
  len: number;
  port: number;
  groups: number;
  pid: number;
  uid: number;
  gid: number;
  flags: number;
  /** The stored bytes (at most the slot size). */
  bytes: Uint8Array;
}

/** Reads `count` RX descriptors and their slots as netlinkRecv left them. */
export function readRx(memory: ArrayBuffer, descPtr: number, dataPtr: number, slotSize: number, count: number, first = 0): RxDatagram[] {
  const view = new DataView(memory);
  const out: RxDatagram[] = [];
  for (let i = first; i < first + count; i++) {
    const at = descPtr + (i - first) * RX.SIZE;
    const len = view.getUint32(at + RX.LEN, true);
    out.push({
      len,
      port: view.getUint32(at + RX.PORT, true),
      groups: view.getUint32(at + RX.GROUPS, true),
      pid: view.getUint32(at + RX.PID, true),
      uid: view.getUint32(at + RX.UID, true),
      gid: view.getUint32(at + RX.GID, true),
      flags: view.getUint32(at + RX.FLAGS, true),
      bytes: new Uint8Array(memory, dataPtr + (i - first) * slotSize, Math.min(len, slotSize)).slice(),
    });
  }
  return out;
}

export interface TxDatagram {
  bytes: Uint8Array;
  port: number;
  groups?: number;
  tag?: number;
}

/** Writes datagrams and their TX descriptors into `memory`: descriptors at descPtr, bytes from dataPtr on. */
export function writeTx(memory: ArrayBuffer, descPtr: number, dataPtr: number, datagrams: readonly TxDatagram[]): void {
  const view = new DataView(memory);
  let ptr = dataPtr;
  datagrams.forEach((d, i) => {
    new Uint8Array(memory, ptr, d.bytes.length).set(d.bytes);
    const at = descPtr + i * TX.SIZE;
    view.setUint32(at + TX.PTR, ptr, true);
    view.setUint32(at + TX.LEN, d.bytes.length, true);
    view.setUint32(at + TX.PORT, d.port, true);
    view.setUint32(at + TX.GROUPS, d.groups ?? 0, true);
    // A value the addon must overwrite, so a stale 0 cannot pass for "sent".
    view.setInt32(at + TX.ERRNO, -1, true);
    view.setUint32(at + TX.TAG, d.tag ?? 0, true);
    ptr += d.bytes.length;
  });
}

export function txErrno(memory: ArrayBuffer, descPtr: number, index: number): number {
  return new DataView(memory).getInt32(descPtr + index * TX.SIZE + TX.ERRNO, true);
}

export function txTag(memory: ArrayBuffer, descPtr: number, index: number): number {
  return new DataView(memory).getUint32(descPtr + index * TX.SIZE + TX.TAG, true);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const bytes = (text: string) => encoder.encode(text);
export const text = (b: Uint8Array) => decoder.decode(b);
