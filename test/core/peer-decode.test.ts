import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LINKTYPE_RAW, PcapWriter, readCapture } from "../../src/capture/pcap.js";
import { instantiateKindSync } from "../../src/core/core.js";
import {
  PEER_MALFORMED,
  PEER_OK,
  PEER_PROBLEM_IP_VERSION,
  PEER_PROBLEM_LENGTH,
  PEER_R_LENGTH,
  PEER_R_PROBLEMS,
  PEER_SHORT,
} from "../../src/gen/protocol.js";
import { createShim, SocketMap } from "../../src/host/shim.js";
import { CaptureDecoder, type CaptureMessage, decodeRecords, loadDecoderCore } from "../../src/replay/decode.js";
import { parsePeerWire } from "../../src/replay/peer.js";
import { DAEMON_CORE, type ServiceExports } from "../../src/service/exports.js";
import { buildTestProgram } from "../support/cc.js";
import { coreModule, daemonCoreModule } from "../support/core.js";
import { ipv4Udp } from "../support/frames.js";
import { findExecutable } from "../support/netns.js";

// The daemon core reads a peer (UDP 3935) message into the peer message record for display
// (peerDecode). The messages come from a C program laying out iwpmd's struct iwpm_wire_msg with
// the system's byte-order functions, so neither the bytes nor the expected fields come from us.

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUNDLE = path.join(ROOT, "build", "dist", "cli.js");

const dir = mkdtempSync(path.join(tmpdir(), "iwpm-peer-decode-"));
const WIRE = path.join(dir, "wire");

// iwpmd's message (iwpmd/iwarp_pm.h): magic = version << 6 | type << 4 | IP version; ports and
// assochandle big-endian; an IPv4 address fills the first 4 of its 16 bytes. The bytes after them
// are 0xa5 here, as a peer may leave anything there. Written `length` bytes long (0xee past 64).
const C_SOURCE = `
#include <arpa/inet.h>
#include <endian.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct iwpm_wire_msg {
  uint8_t magic;
  uint8_t pmtime;
  uint16_t reserved;
  uint16_t apport;
  uint16_t cpport;
  uint64_t assochandle;
  uint8_t cpipaddr[16];
  uint8_t apipaddr[16];
  uint8_t mapped_cpipaddr[16];
} __attribute__((packed));
_Static_assert(sizeof(struct iwpm_wire_msg) == 64, "iwpm_wire_msg is 64 bytes");

static void ip(uint8_t *dst, const char *text) {
  memset(dst, 0xa5, 16);
  if (strchr(text, ':') ? inet_pton(AF_INET6, text, dst) != 1 : inet_pton(AF_INET, text, dst) != 1) exit(2);
}

int main(int argc, char **argv) {
  if (argc != 13) return 2;
  struct iwpm_wire_msg m;
  m.magic = (uint8_t)((atoi(argv[1]) << 6) | (atoi(argv[2]) << 4) | atoi(argv[3]));
  m.pmtime = (uint8_t)atoi(argv[4]);
  m.reserved = htons((uint16_t)atoi(argv[5]));
  m.apport = htons((uint16_t)atoi(argv[6]));
  m.cpport = htons((uint16_t)atoi(argv[7]));
  m.assochandle = htobe64(strtoull(argv[8], NULL, 16));
  ip(m.cpipaddr, argv[9]);
  ip(m.apipaddr, argv[10]);
  ip(m.mapped_cpipaddr, argv[11]);
  size_t length = (size_t)atoi(argv[12]);
  uint8_t out[256];
  if (length > sizeof(out)) return 2;
  memset(out, 0xee, sizeof(out));
  memcpy(out, &m, sizeof(m));
  return write(1, out, length) == (ssize_t)length ? 0 : 1;
}
`;

interface Wire {
  version: number;
  type: number;
  ipVersion: number;
  pmtime: number;
  mappedCpPort: number;
  apport: number;
  cpport: number;
  assoc: string;
  cpIp: string;
  apIp: string;
  mappedCpIp: string;
  length: number;
}

function wire(w: Wire): Uint8Array {
  const args = [
    w.version,
    w.type,
    w.ipVersion,
    w.pmtime,
    w.mappedCpPort,
    w.apport,
    w.cpport,
    w.assoc,
    w.cpIp,
    w.apIp,
    w.mappedCpIp,
    w.length,
  ];
  return new Uint8Array(execFileSync(WIRE, args.map(String)));
}

const REQUEST_V4: Wire = {
  version: 0,
  type: 0,
  ipVersion: 4,
  pmtime: 0,
  mappedCpPort: 40000,
  apport: 6000,
  cpport: 5555,
  assoc: "0000556677889900",
  cpIp: "10.0.0.1",
  apIp: "10.0.0.2",
  mappedCpIp: "192.168.7.9",
  length: 64,
};
const ACCEPT_V6: Wire = {
  version: 2,
  type: 1,
  ipVersion: 6,
  pmtime: 200,
  mappedCpPort: 0,
  apport: 65535,
  cpport: 32768,
  assoc: "fedcba9876543210",
  cpIp: "fd77::1",
  apIp: "fe80::2:3",
  mappedCpIp: "::",
  length: 48,
};

interface PeerDecodeExports extends ServiceExports {
  replayPeerPtr(): number;
  peerDecode(len: number): number;
  peerDecodedPtr(): number;
}

let x: PeerDecodeExports;
let module: WebAssembly.Module;
beforeAll(() => {
  const source = path.join(dir, "wire.c");
  writeFileSync(source, C_SOURCE);
  buildTestProgram(source, WIRE);
  module = daemonCoreModule();
  x = instantiateKindSync<PeerDecodeExports>(
    module,
    createShim({ sockets: new SocketMap(), random: (b) => b.fill(0), log: () => {} }),
    DAEMON_CORE,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The core's status and record fields for a payload, through its exports. */
function raw(payload: Uint8Array): { status: number; problems: number; length: number } {
  new Uint8Array(x.memory.buffer).set(payload.subarray(0, 64), x.replayPeerPtr());
  const status = x.peerDecode(payload.length);
  const v = new DataView(x.memory.buffer);
  return {
    status,
    problems: v.getUint8(x.peerDecodedPtr() + PEER_R_PROBLEMS),
    length: v.getUint32(x.peerDecodedPtr() + PEER_R_LENGTH, true),
  };
}

describe("peerDecode: the fields iwpmd's message carries", () => {
  it("an IPv4 REQUEST: every field, the mapped address, only 4 bytes of each IP", () => {
    const bytes = wire(REQUEST_V4);
    expect(raw(bytes)).toEqual({ status: PEER_OK, problems: 0, length: 64 });
    expect(parsePeerWire(bytes, module)).toEqual({
      version: 0,
      type: 0,
      typeName: "REQUEST",
      ipVersion: 4,
      pmtime: 0,
      mappedCpPort: 40000,
      apport: 6000,
      cpport: 5555,
      assochandle: "0x0000556677889900",
      cpIp: "10.0.0.1",
      apIp: "10.0.0.2",
      mappedCpIp: "192.168.7.9",
    });
  });

  it("an IPv6 ACCEPT: no mapped address, ports and assochandle with their high bits set, protocol version 2", () => {
    const bytes = wire(ACCEPT_V6);
    expect(raw(bytes).status).toBe(PEER_OK);
    expect(parsePeerWire(bytes, module)).toEqual({
      version: 2,
      type: 1,
      typeName: "ACCEPT",
      ipVersion: 6,
      pmtime: 200,
      mappedCpPort: 0,
      apport: 65535,
      cpport: 32768,
      assochandle: "0xfedcba9876543210",
      cpIp: "fd77::1",
      apIp: "fe80::2:3",
    });
  });

  it.each([
    [2, "ACK"],
    [3, "REJECT"],
  ])("type %i is %s", (type, name) => {
    const m = parsePeerWire(wire({ ...ACCEPT_V6, type }), module);
    expect(m?.typeName).toBe(name);
    expect(m?.problem).toBeUndefined();
  });
});

describe("peerDecode: what iwpmd would drop, as the decoder shows it", () => {
  it("shorter than 48 bytes: PEER_SHORT, no message", () => {
    for (const length of [0, 1, 16, 47]) {
      const bytes = wire({ ...ACCEPT_V6, length });
      expect(raw(bytes).status, `${length} bytes`).toBe(PEER_SHORT);
      expect(parsePeerWire(bytes, module)).toBeNull();
    }
  });

  it("a REQUEST of 48 bytes: its fields, no mapped address, the length named", () => {
    const bytes = wire({ ...REQUEST_V4, length: 48 });
    expect(raw(bytes)).toEqual({ status: PEER_MALFORMED, problems: PEER_PROBLEM_LENGTH, length: 48 });
    const m = parsePeerWire(bytes, module);
    expect(m).toMatchObject({ typeName: "REQUEST", cpport: 5555, problem: "length 48, iwpmd expects 64" });
    expect(m?.mappedCpIp).toBeUndefined();
  });

  it("an ACCEPT of 64 bytes and a REQUEST captured longer than 64: the length named", () => {
    expect(parsePeerWire(wire({ ...ACCEPT_V6, length: 64 }), module)?.problem).toBe("length 64, iwpmd expects 48");
    const long = wire({ ...REQUEST_V4, length: 200 });
    expect(raw(long)).toEqual({ status: PEER_MALFORMED, problems: PEER_PROBLEM_LENGTH, length: 200 });
    expect(parsePeerWire(long, module)).toMatchObject({ mappedCpIp: "192.168.7.9", problem: "length 200, iwpmd expects 64" });
  });

  it("an IP version other than 4 or 6, alone and with a bad length", () => {
    // inet_pton's IPv6 bytes, shown as IPv6 since the version says nothing usable
    const five = wire({ ...ACCEPT_V6, ipVersion: 5 });
    expect(raw(five)).toEqual({ status: PEER_MALFORMED, problems: PEER_PROBLEM_IP_VERSION, length: 48 });
    expect(parsePeerWire(five, module)).toMatchObject({ ipVersion: 5, cpIp: "fd77::1", problem: "IP version 5" });
    const both = wire({ ...REQUEST_V4, ipVersion: 0, cpIp: "::1", apIp: "::2", mappedCpIp: "::3", length: 50 });
    expect(raw(both).problems).toBe(PEER_PROBLEM_LENGTH | PEER_PROBLEM_IP_VERSION);
    expect(parsePeerWire(both, module)?.problem).toBe("length 50, iwpmd expects 64; IP version 0");
  });
});

describe("the capture decoder's peer messages", () => {
  it("need the daemon core: a typed error that says what to load, or the module handed over", async () => {
    const chunks: Uint8Array[] = [];
    new PcapWriter((b) => chunks.push(b), { linkType: LINKTYPE_RAW }).writePacket({ sec: 1, nsec: 0 }, ipv4Udp(wire(REQUEST_V4)));
    const records = readCapture(Buffer.concat(chunks)).records;
    const client = await loadDecoderCore(coreModule());
    // This file never called loadDaemonCore.
    expect(() => decodeRecords(client, records)).toThrow(
      expect.objectContaining({ code: "NOT_INITIALIZED", message: expect.stringMatching(/loadDaemonCore\(\) with iwpmd\.wasm/) }),
    );
    const seen: CaptureMessage[] = [];
    const dec = new CaptureDecoder(client, { daemonModule: module, onMessage: (m) => seen.push(m) });
    for (const r of records) dec.record(r);
    dec.finish();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ proto: "peer", label: "peer REQUEST", wire: { mappedCpIp: "192.168.7.9", cpport: 5555 } });
  });
});

describe.skipIf(!existsSync(BUNDLE) || findExecutable("setpriv") === undefined)(
  "hostile peer payloads decoded by an unprivileged process (the bundle)",
  () => {
    it("every length from 0 to 100 with every magic byte: one line per message of 48 bytes or more, exit 0, no stack trace", () => {
      const chunks: Uint8Array[] = [];
      const w = new PcapWriter((b) => chunks.push(b), { linkType: LINKTYPE_RAW });
      let expected = 0;
      let dropped = 0;
      // What iwpmd takes: a REQUEST of 64 bytes or another type of 48, IP version 4 or 6.
      const takes = (magic: number, length: number) => length === (((magic >> 4) & 3) === 0 ? 64 : 48) && [4, 6].includes(magic & 0x0f);
      let seed = 0x12345678;
      for (let length = 0; length <= 100; length++) {
        const payload = new Uint8Array(length);
        for (let i = 0; i < length; i++) {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          payload[i] = seed >>> 24;
        }
        if (length > 0) payload[0] = (length * 37) & 0xff;
        w.writePacket({ sec: 1, nsec: length }, ipv4Udp(payload));
        if (length >= 48) {
          expected++;
          if (!takes(payload[0] as number, length)) dropped++;
        }
      }
      // Every magic byte on a well-sized message, too.
      const base = wire(REQUEST_V4);
      for (let magic = 0; magic < 256; magic++) {
        const payload = base.slice();
        payload[0] = magic;
        w.writePacket({ sec: 2, nsec: magic }, ipv4Udp(payload));
        expected++;
        if (!takes(magic, payload.length)) dropped++;
      }
      const input = Buffer.concat(chunks);
      // The bundle as nobody can read it: the checkout may be private.
      const readable = mkdtempSync(path.join(tmpdir(), "iwpm-peer-bundle-"));
      try {
        cpSync(path.dirname(BUNDLE), readable, { recursive: true });
        chmodSync(readable, 0o755);
        const bundle = path.join(readable, path.basename(BUNDLE));
        for (const args of [["decode"], ["decode", "-v"]]) {
          const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, bundle, ...args, "-"], {
            input,
            encoding: "utf8",
            maxBuffer: 64 << 20,
          });
          expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(0);
          expect(r.stderr).toBe("");
          if (args.length === 1) {
            const lines = r.stdout.split("\n").filter((l) => l !== "");
            expect(lines).toHaveLength(expected);
            expect(lines.every((l) => / peer (REQUEST|ACCEPT|ACK|REJECT) /.test(l))).toBe(true);
            // Each message iwpmd would drop says why at the end of its line.
            const named = lines.filter((l) => /\[(length \d+, iwpmd expects (48|64)(; )?)?(IP version \d+)?\]$/.test(l));
            expect(named).toHaveLength(dropped);
          } else {
            expect(r.stdout).toContain("problem");
          }
        }
      } finally {
        rmSync(readable, { recursive: true, force: true });
      }
    });
  },
);
