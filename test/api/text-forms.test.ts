// Text that people read: IPv6 addresses as the C library's inet_ntop writes them (golden text from
// a C program built against the system headers), and errnos in Linux numbering (golden numbers
// from Node's os.constants, which come from the system's errno.h).

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { formatAddress, parseAddress } from "../../src/api/address.js";
import { Errno, type ErrnoName } from "../../src/core/errno.js";
import { formatIPv6 } from "../../src/core/ip.js";
import { linuxErrnoFromWasi, linuxErrnoName, wasiErrnoFromLinux } from "../../src/core/linux-errno.js";

/** Addresses that exercise every rule: mapped, compatible, zero runs of each length and place. */
function samples(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const hex = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
  for (const h of [
    "00000000000000000000ffff7f000001",
    "00000000000000000000ffff00000000",
    "00000000000000000000ffff0a000001",
    "0000000000000000000000000a000001",
    "00000000000000000000000000000001",
    "00000000000000000000000000000000",
    "000000000000000000000000ffff0000",
    "00000000000000000000ffff00000001",
    "0000000000000000ffff00007f000001",
    "fe800000000000000000000000000001",
    "20010db8000000010000000000000001",
    "20010db8000000000001000000000001",
  ]) {
    out.push(hex(h));
  }
  let s = 0x1234_5678;
  const rand = () => {
    s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0;
    return s >>> 16;
  };
  for (let n = 0; n < 2000; n++) {
    const b = new Uint8Array(16);
    // Each group is zero half the time, so runs of every length occur; a quarter are IPv4-mapped.
    for (let g = 0; g < 8; g++) if (rand() & 1) b.set([rand() & 0xff, rand() & 0xff], g * 2);
    if (n % 4 === 0) b.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
    out.push(b);
  }
  return out;
}

/** Reads 16 bytes at a time from stdin and prints each as inet_ntop(AF_INET6) writes it. */
const NTOP_C = `#include <arpa/inet.h>
#include <stdio.h>
int main(void) {
  unsigned char a[16];
  char text[INET6_ADDRSTRLEN];
  while (fread(a, 1, sizeof a, stdin) == sizeof a) {
    if (!inet_ntop(AF_INET6, a, text, sizeof text)) return 1;
    puts(text);
  }
  return 0;
}
`;

function inetNtop(addresses: Uint8Array[]): string[] {
  const dir = mkdtempSync(path.join(tmpdir(), "iwpm-ntop-"));
  try {
    writeFileSync(path.join(dir, "ntop.c"), NTOP_C);
    execFileSync("gcc", ["-O0", "-o", path.join(dir, "ntop"), path.join(dir, "ntop.c")]);
    const input = Buffer.concat(addresses.map((a) => Buffer.from(a)));
    return execFileSync(path.join(dir, "ntop"), { input, encoding: "utf8" }).trim().split("\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("IPv6 text", () => {
  it("equals inet_ntop's for mapped, compatible and random addresses", () => {
    const all = samples();
    const golden = inetNtop(all);
    expect(golden).toHaveLength(all.length);
    expect(all.map(formatIPv6)).toEqual(golden);
  });

  it("parses mapped text back, and writes it with brackets and port", () => {
    const a = parseAddress("[::ffff:7f00:1]:80");
    expect(a.address).toBe("::ffff:127.0.0.1");
    expect(formatAddress(a)).toBe("[::ffff:127.0.0.1]:80");
    expect(parseAddress(formatAddress(a))).toEqual(a);
  });
});

describe("Linux errnos", () => {
  const names = (Object.keys(Errno) as ErrnoName[]).filter((n) => n !== "SUCCESS" && n !== "ENOTCAPABLE");

  it("every WASI errno maps to the Linux number of its name, and back", () => {
    const linux = constants.errno as Record<string, number>;
    const known = names.filter((n) => linux[n] !== undefined);
    // Node lists nearly all of them; a shrinking list would hollow out this test.
    expect(known.length).toBeGreaterThan(70);
    for (const name of known) {
      expect(linuxErrnoFromWasi(Errno[name])?.errno, name).toBe(linux[name]);
      expect(wasiErrnoFromLinux(linux[name] as number), name).toBe(Errno[name]);
    }
  });

  it("names each number as Linux does; WASI 14 is ECONNREFUSED, 111", () => {
    expect(linuxErrnoFromWasi(14)).toEqual({ errno: constants.errno.ECONNREFUSED, name: "ECONNREFUSED" });
    expect(linuxErrnoName(constants.errno.EOPNOTSUPP)).toBe("EOPNOTSUPP");
    expect(linuxErrnoName(constants.errno.EFAULT)).toBe("EFAULT");
    expect(linuxErrnoName(4095)).toBe("E4095");
    expect(linuxErrnoFromWasi(0)).toBeUndefined();
    expect(linuxErrnoFromWasi(Errno.ENOTCAPABLE)).toBeUndefined();
    expect(linuxErrnoFromWasi(999)).toBeUndefined();
  });
});
