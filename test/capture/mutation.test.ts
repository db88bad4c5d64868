// Seeded mutation test: valid captures of every link type, damaged in the ways files get damaged
// (bit flips, truncation, inserted and removed bytes, fields set to extremes), run through the
// same code as `iwpm decode`, `iwpm decode --json -v --absolute`, `iwpm replay` and a filtered
// `iwpm decode -x`, in-process.
// Every run must end in output or in one readable line and exit 4, never in an internal error.
// A failure names the file (its number, seed and damage); MUTATION_SEED and MUTATION_FILES
// choose the run, so a failure replays exactly.

import { PassThrough } from "node:stream";
import { beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "../../src/cli/command.js";
import { main } from "../../src/cli/index.js";
import { makeScenario } from "../replay/scenario.js";
import { Rng } from "../support/corpus.js";
import { type Seed, seedCaptures } from "./seeds.js";

const FILES = Number(process.env.MUTATION_FILES ?? 20_000);
const SEED = Number(process.env.MUTATION_SEED ?? 0x1c0ffee);

const FORMS: string[][] = [
  ["decode"],
  ["decode", "--json", "-v", "--absolute"],
  ["replay"],
  // the filter (with a replay first, for anomaly), the hex dump and the delta times
  ["decode", "-x", "-t", "dd", "-Y", "anomaly || addr == 10.0.0.1 || err"],
];

interface Outcome {
  code: number;
  err: string;
  out: string;
}

async function runCli(args: string[], input: Uint8Array): Promise<Outcome> {
  let out = "";
  let err = "";
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on("data", (c: Buffer) => {
    out += c.toString("utf8");
  });
  stderr.on("data", (c: Buffer) => {
    err += c.toString("utf8");
  });
  const stdin = new PassThrough();
  stdin.end(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
  const code = await main([...args, "-"], { stdout, stderr, stdin });
  await new Promise((r) => setImmediate(r));
  return { code, err, out };
}

// Values that break length and offset arithmetic when put in a header field.
const EXTREMES_32 = [0, 1, 3, 11, 12, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff];
const EXTREMES_8 = [0, 0x7f, 0x80, 0x86, 0xbf, 0xff];

const PCAP_HEADER = 24;
const PCAP_RECORD_HEADER = 16;
const PCAPNG_SHB_MAGIC = 0x0a0d0d0a;
const NG_IDB = 1;
const NG_EPB = 6;
const IDB_TSRESOL_VALUE = 20; // block header 8, link type, reserved, snaplen 8, option code and length 4
const TSRESOL_EXTREMES = [0, 0x86, 0x7f, 0xff, 0x80, 0xbf, 19, 63];

/** Where each record (pcap) or block (pcapng) of a valid seed starts, with the block type. */
function units(b: Uint8Array): { at: number; type: number }[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: { at: number; type: number }[] = [];
  if (v.getUint32(0, true) === PCAPNG_SHB_MAGIC) {
    for (let at = 0; at + 8 <= b.length; at += v.getUint32(at + 4, true)) out.push({ at, type: v.getUint32(at, true) });
  } else {
    for (let at = PCAP_HEADER; at + PCAP_RECORD_HEADER <= b.length; at += PCAP_RECORD_HEADER + v.getUint32(at + 8, true))
      out.push({ at, type: -1 });
  }
  return out;
}

/** Damage aimed at the framing: a record's or block's length, an if_tsresol, a short block at the end. */
function structural(rng: Rng, b: Uint8Array, what: string[]): Uint8Array {
  const list = units(b);
  const u = list.length > 0 ? rng.pick(list) : undefined;
  if (u === undefined) return b;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const choice = rng.int(0, 2);
  if (choice === 0) {
    const lengthAt = u.type < 0 ? u.at + 8 : u.at + 4;
    const value = rng.pick([0, 4, 8, 12, 16, 20, 24, 28, 32, 0x4000000, 0x4000001, 0xffffffff]);
    v.setUint32(lengthAt, value, true);
    what.push(`length of the unit at ${u.at} = ${value}`);
    return b;
  }
  if (choice === 1) {
    const idb = list.find((x) => x.type === NG_IDB);
    if (idb !== undefined && idb.at + IDB_TSRESOL_VALUE < b.length && v.getUint32(idb.at + 4, true) > IDB_TSRESOL_VALUE + 4) {
      const r = rng.pick(TSRESOL_EXTREMES);
      b[idb.at + IDB_TSRESOL_VALUE] = r;
      what.push(`if_tsresol = 0x${r.toString(16)}`);
    }
    return b;
  }
  // a block with nothing after its type and length: 12 bytes claiming to be a packet
  const tail = new Uint8Array(12);
  const t = new DataView(tail.buffer);
  t.setUint32(0, u.type < 0 ? 0 : NG_EPB, true);
  t.setUint32(4, 12, true);
  t.setUint32(8, 12, true);
  what.push("a 12-byte block appended");
  const out = new Uint8Array(b.length + tail.length);
  out.set(b, 0);
  out.set(tail, b.length);
  return out;
}

/** One damaged copy of `src`; `what` says how, for the failure message. */
function mutate(rng: Rng, src: Uint8Array): { bytes: Uint8Array; what: string[] } {
  let b: Uint8Array = src.slice();
  const what: string[] = [];
  if (rng.chance(0.4)) b = structural(rng, b, what);
  const steps = rng.int(what.length > 0 ? 0 : 1, 3);
  for (let s = 0; s < steps; s++) {
    const kind = rng.int(0, 5);
    const at = rng.int(0, Math.max(0, b.length - 1));
    if (kind === 0) {
      const flips = rng.int(1, 8);
      for (let i = 0; i < flips; i++) {
        const p = rng.int(0, Math.max(0, b.length - 1));
        if (b.length > 0) b[p] = (b[p] as number) ^ (1 << rng.int(0, 7));
      }
      what.push(`${flips} bit flips`);
    } else if (kind === 1) {
      b = b.slice(0, at);
      what.push(`cut at ${at}`);
    } else if (kind === 2) {
      const n = rng.int(1, 16);
      const out = new Uint8Array(b.length + n);
      out.set(b.subarray(0, at), 0);
      out.set(rng.bytes(n), at);
      out.set(b.subarray(at), at + n);
      b = out;
      what.push(`${n} bytes inserted at ${at}`);
    } else if (kind === 3) {
      const n = rng.int(1, 16);
      const out = new Uint8Array(Math.max(at, b.length - n));
      out.set(b.subarray(0, at), 0);
      out.set(b.subarray(at + n), at);
      b = out;
      what.push(`${n} bytes removed at ${at}`);
    } else if (kind === 4) {
      // a 32-bit field (either byte order) on a 4-byte boundary: lengths, counts, timestamps
      const p = at & ~3;
      if (p + 4 <= b.length) {
        const v = rng.pick(EXTREMES_32);
        new DataView(b.buffer, b.byteOffset).setUint32(p, v, rng.chance(0.5));
        what.push(`u32 at ${p} = 0x${v.toString(16)}`);
      }
    } else {
      // a single byte: flags, versions, if_tsresol
      const v = rng.pick(EXTREMES_8);
      if (b.length > 0) b[at] = v;
      what.push(`byte ${at} = 0x${v.toString(16)}`);
    }
  }
  return { bytes: b, what };
}

function judge(o: Outcome): string | null {
  if (o.err.includes("internal error") || /\n\s+at /.test(o.err)) return "internal error";
  if (o.code !== EXIT.OK && o.code !== EXIT.FORMAT) return `exit ${o.code}`;
  if (o.code === EXIT.FORMAT) {
    const lines = o.err.trimEnd().split("\n");
    if (!lines.some((l) => /^iwpm (decode|replay): .*(damaged|cut short|not a pcap|empty|too short|not supported)/.test(l)))
      return "exit 4 without a line saying what is wrong with the file";
  }
  return null;
}

let seeds: Seed[];

beforeAll(async () => {
  seeds = seedCaptures((await makeScenario()).pcap);
});

describe("mutated captures", () => {
  it("every seed is a valid capture that decodes and replays with exit 0", async () => {
    expect(seeds.length).toBeGreaterThanOrEqual(5 * 15);
    for (const s of seeds) {
      for (const form of FORMS) {
        const o = await runCli(form, s.bytes);
        expect(o.code, `${s.name}: ${form.join(" ")}: ${o.err}`).toBe(EXIT.OK);
      }
      const d = await runCli(["decode"], s.bytes);
      expect(d.out.trim().split("\n").length, s.name).toBeGreaterThanOrEqual(3);
    }
  });

  it(`${FILES} mutated files: 0 internal errors in decode, decode --json -v --absolute, replay and decode -x -Y`, {
    timeout: 600_000,
  }, async () => {
    const rng = new Rng(SEED);
    const failures: string[] = [];
    const byReason: Record<string, number> = {};
    const codes = new Map<number, number>();
    for (let i = 0; i < FILES; i++) {
      const seed = seeds[i % seeds.length] as Seed;
      const { bytes, what } = mutate(rng, seed.bytes);
      // every file through one form, in rotation: the three forms see every seed and mutation kind
      const form = FORMS[Math.floor(i / seeds.length) % FORMS.length] as string[];
      let o: Outcome;
      try {
        o = await runCli(form, bytes);
      } catch (err) {
        o = { code: -1, out: "", err: `internal error: ${String(err)}` };
      }
      codes.set(o.code, (codes.get(o.code) ?? 0) + 1);
      const bad = judge(o);
      if (bad !== null) byReason[bad] = (byReason[bad] ?? 0) + 1;
      if (bad !== null && failures.length < 10)
        failures.push(`#${i} ${seed.name}, ${what.join(", ")}: iwpm ${form.join(" ")}: ${bad}: ${o.err.slice(0, 600)}`);
    }
    expect({ byReason, failures }).toEqual({ byReason: {}, failures: [] });
    // The mutations must reach both outcomes, or the test is not testing the error paths.
    expect(codes.get(EXIT.OK) ?? 0).toBeGreaterThan(FILES / 10);
    expect(codes.get(EXIT.FORMAT) ?? 0).toBeGreaterThan(FILES / 10);
  });
});
