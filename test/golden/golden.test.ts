/**
 * Self-check of the golden vector generator: every vector's bytes must agree
 * with the fields printed next to them, read back by the small independent
 * reader below (it shares nothing with the project's core), and the worked
 * examples of the protocol reference (§6) must come out byte for byte.
 */
import { describe, expect, it } from "vitest";
import { type GoldenAttr, type GoldenMessage, type GoldenVector, loadGoldenVectors } from "./golden.js";

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_MULTI = 0x2;
const MAX_DATAGRAM = 4112;

const align4 = (n: number): number => (n + 3) & ~3;

function bytesOf(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

function parseIPv4(text: string): number[] {
  const parts = text.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`bad IPv4 ${text}`);
  }
  return parts;
}

/** Plain hex groups with at most one "::" (no embedded IPv4 needed here). */
function parseIPv6(text: string): number[] {
  const halves = text.split("::");
  if (halves.length > 2) throw new Error(`bad IPv6 ${text}`);
  const groups = (s: string): number[] => (s === "" ? [] : s.split(":").map((g) => Number.parseInt(g, 16)));
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  if (all.length !== 8 || all.some((g) => !(g >= 0 && g <= 0xffff))) throw new Error(`bad IPv6 ${text}`);
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

const textBytes = (s: string): number[] => [...Buffer.from(s, "latin1")];

/** Check one attribute's payload against its description; returns its nla_len. */
function checkAttr(b: Uint8Array, view: DataView, at: number, a: GoldenAttr, where: string): number {
  const nlaLen = view.getUint16(at, true);
  const nlaType = view.getUint16(at + 2, true);
  const p = at + 4;
  expect(nlaType, `${where} nla_type`).toBe(a.id);
  switch (a.kind) {
    case "u32":
      expect(nlaLen, `${where} nla_len`).toBe(8);
      expect(view.getUint32(p, true), where).toBe(a.value);
      break;
    case "u16":
      expect(nlaLen, `${where} nla_len`).toBe(6);
      expect(view.getUint16(p, true), where).toBe(a.value);
      break;
    case "fstr": {
      const s = textBytes(String(a.value));
      expect(a.size === 16 || a.size === 32, `${where} size`).toBe(true);
      const size = a.size ?? 0;
      expect(nlaLen, `${where} nla_len`).toBe(4 + size);
      expect(s.length, `${where} room for NUL`).toBeLessThan(size);
      expect([...b.subarray(p, p + s.length)], where).toEqual(s);
      expect(allZero(b, p + s.length, p + size), `${where} NUL padding`).toBe(true);
      break;
    }
    case "cstr": {
      const s = textBytes(String(a.value));
      expect(nlaLen, `${where} nla_len`).toBe(4 + s.length + 1);
      expect([...b.subarray(p, p + s.length)], where).toEqual(s);
      expect(b[p + s.length], `${where} NUL`).toBe(0);
      break;
    }
    case "addr": {
      expect(nlaLen, `${where} nla_len`).toBe(132);
      expect(view.getUint16(p, true), `${where} family`).toBe(a.family);
      expect(view.getUint16(p + 2, false), `${where} port`).toBe(a.port);
      if (a.family === 2) {
        expect([...b.subarray(p + 4, p + 8)], where).toEqual(parseIPv4(String(a.address)));
        expect(a.flowinfo ?? 0, where).toBe(0);
        expect(a.scopeId ?? 0, where).toBe(0);
        expect(allZero(b, p + 8, p + 128), `${where} zero tail`).toBe(true);
      } else {
        expect(a.family, `${where} family`).toBe(10);
        expect(view.getUint32(p + 4, false), `${where} flowinfo`).toBe(a.flowinfo);
        expect([...b.subarray(p + 8, p + 24)], where).toEqual(parseIPv6(String(a.address)));
        expect(view.getUint32(p + 24, true), `${where} scope id`).toBe(a.scopeId);
        expect(allZero(b, p + 28, p + 128), `${where} zero tail`).toBe(true);
      }
      break;
    }
    default:
      throw new Error(`${where}: unknown kind ${String((a as GoldenAttr).kind)}`);
  }
  expect(allZero(b, at + nlaLen, at + align4(nlaLen)), `${where} attribute padding`).toBe(true);
  return nlaLen;
}

function checkMessage(b: Uint8Array, view: DataView, off: number, m: GoldenMessage, where: string): number {
  const len = view.getUint32(off, true);
  expect(len, `${where} nlmsg_len`).toBeGreaterThanOrEqual(16);
  expect(len % 4, `${where} nlmsg_len alignment`).toBe(0);
  expect(off + len, `${where} fits`).toBeLessThanOrEqual(b.length);
  expect(view.getUint16(off + 4, true), `${where} type`).toBe(m.type);
  expect(view.getUint16(off + 6, true), `${where} flags`).toBe(m.flags);
  expect(view.getUint32(off + 8, true), `${where} seq`).toBe(m.seq);
  expect(view.getUint32(off + 12, true), `${where} pid`).toBe(m.pid);

  if (m.control === "done") {
    expect(m.type).toBe(NLMSG_DONE);
    expect(m.client).toBeUndefined();
    expect(m.attrs).toEqual([]);
    if (m.doneStatus === undefined) {
      expect(len, `${where} bare DONE`).toBe(16);
    } else {
      expect(len, `${where} DONE with status`).toBe(20);
      expect(view.getInt32(off + 16, true), `${where} status`).toBe(m.doneStatus);
    }
    return len;
  }
  if (m.control === "error") {
    expect(m.type).toBe(NLMSG_ERROR);
    expect(m.client).toBeUndefined();
    expect(len, `${where} capped error`).toBe(36);
    expect(view.getInt32(off + 16, true), `${where} error`).toBe(m.error);
    const o = off + 20;
    expect({
      len: view.getUint32(o, true),
      type: view.getUint16(o + 4, true),
      flags: view.getUint16(o + 6, true),
      seq: view.getUint32(o + 8, true),
      pid: view.getUint32(o + 12, true),
    }).toEqual(m.orig);
    return len;
  }

  expect(m.control, where).toBeNull();
  expect(m.type, `${where} type from client/op`).toBe(((m.client ?? -1) << 10) + (m.op ?? -1));
  expect(m.type >> 10, where).toBe(m.client);
  expect(m.type & 0x3ff, where).toBe(m.op);
  let at = off + 16;
  m.attrs.forEach((a, i) => {
    expect(at + 4, `${where} attr ${i} header fits`).toBeLessThanOrEqual(off + len);
    const nlaLen = checkAttr(b, view, at, a, `${where} attr ${i} (id ${a.id})`);
    at += align4(nlaLen);
  });
  expect(at, `${where}: nlmsg_len covers exactly the padded attributes`).toBe(off + len);
  const ids = m.attrs.map((a) => a.id);
  expect(ids, `${where} ids are 1..n in order`).toEqual(ids.map((_, i) => i + 1));
  return len;
}

const vectors = loadGoldenVectors();
const byName = new Map<string, GoldenVector>(vectors.map((v) => [v.name, v]));

describe("golden vectors: generator self-check", () => {
  it("has unique names and both directions", () => {
    expect(byName.size).toBe(vectors.length);
    expect(vectors.some((v) => v.dir === "to_daemon")).toBe(true);
    expect(vectors.some((v) => v.dir === "to_client")).toBe(true);
  });

  it.each(vectors.map((v) => [v.name, v] as const))("%s: bytes agree with fields", (name, v) => {
    const b = bytesOf(v.hex);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    expect(b.length, `${name} fits iwpmd's buffer`).toBeLessThanOrEqual(MAX_DATAGRAM);
    expect(v.messages.length).toBeGreaterThan(0);
    let off = 0;
    v.messages.forEach((m, i) => {
      expect(off % 4, `${name} message ${i} offset`).toBe(0);
      off += align4(checkMessage(b, view, off, m, `${name} message ${i}`));
    });
    expect(off, `${name}: messages cover the datagram`).toBe(b.length);
  });

  it("includes FLAGS in ADD/QUERY/MAPINFO from the client exactly in v4", () => {
    const flagsIdByOp: Record<number, number> = { 1: 3, 2: 4, 6: 3 };
    for (const v of vectors.filter((x) => x.dir === "to_daemon")) {
      for (const m of v.messages) {
        const flagsId = m.op === undefined ? undefined : flagsIdByOp[m.op];
        if (m.control !== null || flagsId === undefined) continue;
        const has = m.attrs.some((a) => a.id === flagsId && a.kind === "u32");
        expect(has, `${v.name} op ${m.op}`).toBe(v.version === 4);
      }
    }
  });

  it("sets NLM_F_REQUEST on RDMA messages except MAPINFO records (NLM_F_MULTI, seq 0)", () => {
    for (const v of vectors) {
      for (const m of v.messages) {
        if (m.control !== null) continue;
        if (v.dir === "to_daemon" && m.op === 6) {
          expect(m.flags, v.name).toBe(NLM_F_MULTI);
          expect(m.seq, v.name).toBe(0);
        } else {
          expect(m.flags, v.name).toBe(NLM_F_REQUEST);
        }
      }
    }
  });
});

/*
 * Hex copied from the protocol reference, §6.  Where the reference elides a
 * run of zeros inside a sockaddr ("..." / "112 bytes of 00") the run is
 * written out with zeros(n).
 */
const zeros = (n: number): string => "00".repeat(n);
const clean = (s: string): string => s.replace(/\s+/g, "");

const EXAMPLE_A = clean(`
74 00 00 00 00 08 01 00 64 00 00 00 00 00 00 00
08 00 01 00 01 00 00 00 14 00 02 00 6c 6f 00 00
00 00 00 00 00 00 00 00 00 00 00 00 24 00 03 00
73 69 77 30 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
24 00 04 00 69 57 61 72 70 50 6f 72 74 4d 61 70
70 65 72 55 73 65 72 00 00 00 00 00 00 00 00 00
00 00 00 00`);

const EXAMPLE_B = clean(`
4c 00 00 00 00 08 01 00 02 00 00 00 d2 04 00 00
08 00 01 00 64 00 00 00 09 00 02 00 73 69 77 30
00 00 00 00 18 00 03 00 69 57 61 72 70 50 6f 72
74 4d 61 70 70 65 72 55 73 65 72 00 06 00 04 00
04 00 00 00 06 00 05 00 00 00 00 00`);

const EXAMPLE_C_REQUEST =
  clean(`
a4 00 00 00 01 08 01 00 65 00 00 00 00 00 00 00
08 00 01 00 02 00 00 00
84 00 02 00
02 00 15 b3 7f 00 00 01 00 00 00 00 00 00 00 00`) +
  zeros(112) +
  clean("08 00 03 00 00 00 00 00");

const EXAMPLE_C_REPLY =
  clean(`
28 01 00 00 01 08 01 00 03 00 00 00 d2 04 00 00
08 00 01 00 65 00 00 00
84 00 02 00 02 00 15 b3 7f 00 00 01`) +
  zeros(120) +
  clean("84 00 03 00 02 00 9c 40 7f 00 00 01") +
  zeros(120) +
  clean("06 00 04 00 00 00 00 00");

const EXAMPLE_D_HELLO = clean("18 00 00 00 08 08 01 00 00 00 00 00 d2 04 00 00 06 00 01 00 04 00 00 00");
const EXAMPLE_D_HANDLE_ERR = clean("20 00 00 00 05 08 01 00 03 00 00 00 d2 04 00 00 08 00 01 00 65 00 00 00 06 00 02 00 0c 00 00 00");
const EXAMPLE_D_TERMINATOR = clean("10 00 00 00 03 00 02 00 00 00 00 00 00 00 00 00");

describe("golden vectors: protocol reference §6 examples", () => {
  const hexOf = (name: string): string => {
    const v = byName.get(name);
    if (!v) throw new Error(`missing vector ${name}`);
    return v.hex;
  };

  it("(a) REG_PID request", () => {
    expect(EXAMPLE_A.length / 2).toBe(116);
    expect(hexOf("reg_pid_request_example_a")).toBe(EXAMPLE_A);
  });

  it("(b) REG_PID reply", () => {
    expect(EXAMPLE_B.length / 2).toBe(76);
    expect(hexOf("reg_pid_reply_example_b")).toBe(EXAMPLE_B);
  });

  it("(c) ADD_MAPPING request and reply", () => {
    expect(EXAMPLE_C_REQUEST.length / 2).toBe(164);
    expect(EXAMPLE_C_REPLY.length / 2).toBe(296);
    expect(hexOf("add_mapping_request_v4_ipv4")).toBe(EXAMPLE_C_REQUEST);
    expect(hexOf("add_mapping_reply_ipv4")).toBe(EXAMPLE_C_REPLY);
  });

  it("(d) HELLO, HANDLE_ERR and the MAPINFO batch terminator", () => {
    expect(hexOf("hello_from_daemon_example_d")).toBe(EXAMPLE_D_HELLO);
    expect(hexOf("handle_err_example_d")).toBe(EXAMPLE_D_HANDLE_ERR);
    expect(hexOf("mapinfo_batch_v4").endsWith(EXAMPLE_D_TERMINATOR)).toBe(true);
  });
});
