// Turns a run's results into the console summary, docs/benchmarks.md and the hand-written SVG
// plot docs/benchmarks-mapinfo.svg. Targets are evaluated and reported, never asserted.

import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { limits } from "./limits.mjs";

export const IMPL_LABEL = {
  "core-raw": "core, raw exports",
  "core-ts": "core via Core wrapper",
  api: "PortMapperClient (public API)",
  "ts-map": "TypeScript Map baseline",
  "kernel-c": "kernel design in C",
  "tuned-c": "tuned C tables",
};
const IMPL_DETAIL = {
  w1: {
    "core-raw": "createMapinfo / mapinfoFind / removeMapinfo, addresses written into the argument slots with DataView",
    "core-ts": "the same exports, addresses written with `Core.writeAddr` (src/core/core.ts) from `{ family, address, port }` objects",
    api: "`client.createMapinfo(local, mapped)` / `client.removeMapinfo(local, mapped)` (the API has no mapinfo lookup)",
    "ts-map": "bench/baselines/ts-map.ts: `Map<string, entry>` keyed by `address:port`, same objects as input",
    "kernel-c": "bench/baselines/kernel_tables.c: 512 hlist buckets, jhash, a malloc'd node with two 128-byte sockaddr_storage copies",
    "tuned-c":
      "bench/baselines/tuned_tables.c: open addressing (linear probing, load ≤ 3/4, backward-shift removal), the 20-byte compact mapped address inline in the slot, records in one flat array; same newest-first semantics as the core",
  },
  w2: {
    "core-raw": "REMOTE_INFO datagram copied to `rxPtr()` + `handleRx` (events cleared every 64); get: slot writes + `getRemoteInfo`",
    "core-ts": "`Core.feed` + `Core.drainEvents` per datagram; get: `Core.writeAddr` ×2 + `getRemoteInfo` + `Core.readAddr`",
    api: "datagram fed to `client.core` and dispatched by `client.handleReadable()`; get: `client.getRemoteInfo(mappedLocal, mappedRemote)`",
    "ts-map": "bench/baselines/ts-map.ts: DataView parse with the kernel's checks into an object, `Map` keyed by both mapped addresses",
    "kernel-c":
      "bench/baselines/kernel_tables.c: nla_parse-style checks, 64 hlist buckets, a malloc'd node with three sockaddr_storage copies",
    "tuned-c":
      "bench/baselines/tuned_tables.c: the W1 design keyed by both mapped addresses inline in the slot; it inserts straight into the table (no datagram), so only its get compares",
  },
};
const W1_PHASES = ["insert", "lookupPresent", "lookupAbsent", "remove"];
const PHASE_LABEL = {
  insert: "insert",
  lookupPresent: "lookup (present)",
  lookupAbsent: "lookup (absent)",
  remove: "remove",
  get: "get (consume)",
};
const W3_ROWS = [
  [
    "encode",
    "core",
    "encodeAddMapping",
    "ADD_MAPPING request via `addMapping()` (builder + request table + clock + send_batch through the shim, null batch socket)",
  ],
  ["encode", "core", "encodeRecord", "ADD_MAPPING request via `encode()` of a decoded record"],
  ["encode", "c", "encode", "ADD_MAPPING request, plain C encoder (bench/baselines/codec.c)"],
  ["decode", "core", "decodeReply", "ADD_MAPPING reply, `decode()` + validation, message already in core memory"],
  ["decode", "core", "decodeReplyCopy", "the same, datagram first copied into core memory (`Uint8Array.set`)"],
  ["decode", "c", "decodeReply", "ADD_MAPPING reply, plain C decoder + validator"],
  [
    "diag",
    "core",
    "encodeAddMappingLean",
    "diagnostic: `addMapping()` behind a minimal bench-local host (send_batch reaches no socket, clock reads no new BigInt)",
  ],
  ["diag", "core", "callOverhead", "diagnostic: JS → wasm call of a trivial export (`coreAbiVersion()`)"],
  ["diag", "core", "decodeDone", "diagnostic: `decode()` of a 16-byte NLMSG_DONE (the fixed cost of a call)"],
];
// W4 bars (issue 9): rate one at a time and with requests in flight, p99, client CPU per pair.
const W4_RATE_ONE = 0.9;
// Issue 10: the raw table operations within this factor of the tuned C tables at the largest N.
const TUNED_BAR = 2;
const W4_RATE_INFLIGHT = 1.0;
const W4_CPU = 2;
// Issue 11: iwpm decode's CPU time against tshark -r of the same capture, and --json against text.
const DECODE_VS_TSHARK = 1.5;
const DECODE_JSON_VS_TEXT = 2;

const DECODE_ROWS = [
  ["tshark", "`tshark -r FILE`"],
  ["text", "`iwpm decode FILE`"],
  ["json", "`iwpm decode --json FILE`"],
];

const W4_LABEL = {
  c: "C client (bench/baselines/nlclient.c)",
  core: "core, raw exports + project Node netlink socket",
  api: "PortMapperClient (public API)",
};

const fmt = (x, digits = 0) =>
  x === undefined || x === null || Number.isNaN(x)
    ? "–"
    : x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ns = (x) => (x === undefined ? "–" : x >= 100 ? fmt(x, 0) : x >= 10 ? fmt(x, 1) : fmt(x, 2));
const ratio = (x) =>
  x === undefined || x === null || !Number.isFinite(x) ? "–" : `${x >= 10 ? fmt(x, 0) : x >= 0.1 ? fmt(x, 2) : x.toPrecision(2)}×`;
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const anySampled = (res) =>
  Object.values(res.impls).some((byN) => Object.values(byN).some((row) => row.sampled && Object.values(row.sampled).some((v) => v > 0)));
const sizeLabel = (n) => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3}k` : String(n));
const med = (s) => s?.median;

function w1Total(r, impl, n) {
  const p = r.workloads.w1?.impls[impl]?.[n]?.phases;
  if (!p) return undefined;
  if (!W1_PHASES.every((ph) => p[ph])) return undefined;
  return W1_PHASES.reduce((sum, ph) => sum + p[ph].median, 0);
}

function w2Total(r, impl, n) {
  const p = r.workloads.w2?.impls[impl]?.[n]?.phases;
  if (!p?.insert || !p?.get) return undefined;
  return p.insert.median + p.get.median;
}

// --- targets ----------------------------------------------------------------------------------------

export function evaluateTargets(r) {
  const t = [];
  // kind "target": one of the issue's targets; "context": the same bar applied to another layer.
  const add = (id, target, measured, met, extra = {}) => t.push({ id, target, measured, met, kind: "target", ...extra });
  const w1 = r.workloads.w1;
  if (w1) {
    const big = w1.sizes[w1.sizes.length - 1];
    const core = w1Total(r, "core-raw", big);
    const ts = w1Total(r, "ts-map", big);
    const kern = w1Total(r, "kernel-c", big);
    const wrapped = w1Total(r, "core-ts", big);
    if (core && ts) {
      const x = ts / core;
      const phases = W1_PHASES.map(
        (ph) => `${PHASE_LABEL[ph]} ${ratio(med(w1.impls["ts-map"][big].phases[ph]) / med(w1.impls["core-raw"][big].phases[ph]))}`,
      ).join(", ");
      add(
        "w1-vs-map",
        `W1 at ${sizeLabel(big)} mappings: core ≥ 1.5× the TypeScript Map baseline`,
        `${ratio(x)} (all four phases; ${phases})`,
        x >= 1.5,
        {
          value: x,
          wrapped: wrapped ? ts / wrapped : undefined,
        },
      );
      if (wrapped) {
        const y = ts / wrapped;
        add(
          "w1-wrapped-vs-map",
          `W1 at ${sizeLabel(big)}: core through the Core wrapper vs the Map baseline (same 1.5× bar)`,
          ratio(y),
          y >= 1.5,
          { value: y, kind: "context" },
        );
      }
    }
    // The issue's bar for the public API: each call it has for the W1 and W2 phases.
    const apiW1 = w1.impls.api?.[big]?.phases;
    const mapW1 = w1.impls["ts-map"]?.[big]?.phases;
    const apiW2 = r.workloads.w2?.impls.api?.[big]?.phases;
    const mapW2 = r.workloads.w2?.impls["ts-map"]?.[big]?.phases;
    if (apiW1?.insert && apiW1?.remove && mapW1 && apiW2?.get && mapW2?.get) {
      const calls = [
        ["W1 insert", med(mapW1.insert) / med(apiW1.insert)],
        ["W1 remove", med(mapW1.remove) / med(apiW1.remove)],
        ["W2 get", med(mapW2.get) / med(apiW2.get)],
      ];
      const worst = Math.min(...calls.map(([, x]) => x));
      add(
        "api-vs-map",
        `W1 and W2 at ${sizeLabel(big)}: public API insert, remove and get each ≥ 1.5× the Map baseline`,
        `worst ${ratio(worst)} (${calls.map(([name, x]) => `${name} ${ratio(x)}`).join(", ")})`,
        worst >= 1.5,
        { value: worst },
      );
    }
    const tunedRow = w1.impls["tuned-c"]?.[big]?.phases;
    const coreRow = w1.impls["core-raw"]?.[big]?.phases;
    if (tunedRow && coreRow) {
      // The issue's bar: the raw lookups and removal within 2× of the native limit.
      const per = (ph) => med(coreRow[ph]) / med(tunedRow[ph]);
      const bar = ["lookupPresent", "lookupAbsent", "remove"];
      const worst = Math.max(...bar.map(per));
      add(
        "w1-vs-tuned",
        `W1 at ${sizeLabel(big)}: raw lookup and remove ≤ ${TUNED_BAR}× the tuned C tables`,
        `worst ${ratio(worst)} (${bar.map((ph) => `${PHASE_LABEL[ph]} ${ratio(per(ph))}`).join(", ")})`,
        worst <= TUNED_BAR,
        { value: worst, phases: Object.fromEntries(W1_PHASES.map((ph) => [ph, per(ph)])) },
      );
      add(
        "w1-insert-vs-tuned",
        `W1 at ${sizeLabel(big)}: raw insert against the tuned C tables (same ${TUNED_BAR}× bar)`,
        ratio(per("insert")),
        per("insert") <= TUNED_BAR,
        {
          value: per("insert"),
          kind: "context",
        },
      );
    }
    if (core && kern) {
      const x = kern / core;
      add(
        "w1-vs-kernel",
        `W1 at ${sizeLabel(big)}: core far ahead of the kernel design (read as ≥ 10×)`,
        `${ratio(x)} (all four phases)`,
        x >= 10,
        { value: x },
      );
    }
  }
  const w2 = r.workloads.w2;
  if (w2) {
    const big = w2.sizes[w2.sizes.length - 1];
    const tuned = w2.impls["tuned-c"]?.[big]?.phases?.get;
    const core = w2.impls["core-raw"]?.[big]?.phases?.get;
    if (tuned && core) {
      const x = med(core) / med(tuned);
      add(
        "w2-get-vs-tuned",
        `W2 at ${sizeLabel(big)}: raw get (consume) against the tuned C tables (same ${TUNED_BAR}× bar)`,
        `${ratio(x)} (${ns(med(core))} vs ${ns(med(tuned))} ns)`,
        x <= TUNED_BAR,
        { value: x, kind: "context" },
      );
    }
  }
  const w3 = r.workloads.w3;
  if (w3?.core && w3?.c) {
    const c = w3.c.phases;
    const k = w3.core.phases;
    // The codec proper is encode() and decode(); addMapping() and the copy are context lines.
    const rows = [
      ["w3-encode-record", "encode() of a decoded record", c.encode, k.encodeRecord, "target"],
      ["w3-decode", "decode() + validation", c.decodeReply, k.decodeReply, "target"],
      ["w3-encode-add", "addMapping() (builder + bookkeeping + send)", c.encode, k.encodeAddMapping, "context"],
      ["w3-decode-copy", "copy into core memory + decode()", c.decodeReply, k.decodeReplyCopy, "context"],
    ];
    for (const [id, what, cs, ks, kind] of rows) {
      if (!cs || !ks) continue;
      const x = cs.median / ks.median;
      add(id, `W3 codec ≥ 0.5× native C: ${what}`, `${ratio(x)} (${ns(ks.median)} ns vs C ${ns(cs.median)} ns per message)`, x >= 0.5, {
        value: x,
        kind,
      });
    }
    const full = med(k.encodeAddMapping);
    const lean = med(k.encodeAddMappingLean);
    if (full && lean) {
      const x = full / lean;
      add(
        "w3-shim-vs-lean",
        "W3 addMapping() through the project's shim ≤ 2× the same core behind a minimal host",
        `${ratio(x)} (${ns(full)} vs ${ns(lean)} ns per call)`,
        x <= 2,
        { value: x },
      );
    }
  }
  const w4 = r.workloads.w4;
  if (w4) {
    const c = w4.clients?.c;
    for (const who of ["api", "core"]) {
      const k = w4.clients?.[who];
      for (const phase of ["sequential", "pipelined"]) {
        const label = `${phase === "sequential" ? "one at a time" : `${w4.settings?.inflight ?? 64} in flight`}`;
        const scope = who === "api" ? "public API" : "core raw exports (no API layer)";
        if (!k || !c) {
          if (who === "api") {
            const why = typeof w4.skipped === "string" ? w4.skipped : (w4.skipped?.api ?? w4.skipped?.c ?? "not measured");
            add(`w4-${who}-${phase}`, `W4 ${label}, ${scope}: rate, p99 and CPU against the C client`, why, null);
          }
          continue;
        }
        const rate = k[phase].rate.median / c[phase].rate.median;
        const p99 = k[phase].p99Us.median / c[phase].p99Us.median;
        const kind = who === "api" ? "target" : "context";
        // With many requests in flight a client has every chance to batch, so it must match C.
        const rateBar = phase === "sequential" ? W4_RATE_ONE : W4_RATE_INFLIGHT;
        add(
          `w4-${who}-${phase}-rate`,
          `W4 ${label}, ${scope}: rate ≥ ${rateBar.toFixed(1)}× the C client`,
          `${ratio(rate)} (${fmt(k[phase].rate.median)} vs ${fmt(c[phase].rate.median)} pairs/s)`,
          rate >= rateBar,
          { value: rate, kind },
        );
        add(
          `w4-${who}-${phase}-p99`,
          `W4 ${label}, ${scope}: p99 ≤ 1.2× the C client's`,
          `${ratio(p99)} (${fmt(k[phase].p99Us.median)} vs ${fmt(c[phase].p99Us.median)} µs)`,
          p99 <= 1.2,
          { value: p99, kind },
        );
        const kc = k[phase].cpuUsPerPair?.median;
        const cc = c[phase].cpuUsPerPair?.median;
        if (kc !== undefined && cc !== undefined) {
          const cpu = kc / cc;
          add(
            `w4-${who}-${phase}-cpu`,
            `W4 ${label}, ${scope}: client CPU per pair ≤ ${W4_CPU}× the C client's`,
            `${ratio(cpu)} (${fmt(kc, 1)} vs ${fmt(cc, 1)} µs)`,
            cpu <= W4_CPU,
            { value: cpu, kind },
          );
        }
      }
    }
  }
  const w5 = r.workloads.w5;
  if (w5) {
    if (w5.core)
      add(
        "w5-bytes",
        `W5 ≤ 300 bytes of Wasm memory per mapping at ${sizeLabel(w5.n)}`,
        `${fmt(w5.core.mapinfo, 1)} B`,
        w5.core.mapinfo <= 300,
        { value: w5.core.mapinfo },
      );
    add("w5-size", "W5 release .wasm ≤ 64 KiB", `${fmt(w5.wasmBytes)} B (${fmt(w5.wasmBytes / 1024, 1)} KiB)`, w5.wasmBytes <= 65536, {
      value: w5.wasmBytes,
    });
    const inst = w5.instantiate?.compileInstantiateMs;
    if (inst)
      add("w5-instantiate", "W5 compile + instantiate ≤ 5 ms (median, fresh process)", `${fmt(inst.median, 2)} ms`, inst.median <= 5, {
        value: inst.median,
      });
  }
  const dec = r.workloads.decode;
  if (dec?.cpuS) {
    const { tshark, text, json } = dec.cpuS;
    if (tshark && text) {
      const x = text.median / tshark.median;
      add(
        "decode-vs-tshark",
        `\`iwpm decode\` of a ${sizeLabel(dec.messages)}-message capture ≤ ${DECODE_VS_TSHARK}× \`tshark -r\` (CPU)`,
        `${ratio(x)} (${fmt(text.median, 2)} s vs tshark ${fmt(tshark.median, 2)} s)`,
        x <= DECODE_VS_TSHARK,
        { value: x },
      );
    }
    if (text && json) {
      const x = json.median / text.median;
      add(
        "decode-json-vs-text",
        `\`iwpm decode --json\` ≤ ${DECODE_JSON_VS_TEXT}× the text output (CPU)`,
        `${ratio(x)} (${fmt(json.median, 2)} s vs ${fmt(text.median, 2)} s)`,
        x <= DECODE_JSON_VS_TEXT,
        { value: x },
      );
    }
  } else if (dec?.skipped) add("decode-vs-tshark", `\`iwpm decode\` ≤ ${DECODE_VS_TSHARK}× \`tshark -r\` (CPU)`, dec.skipped, null);
  return t;
}

const verdict = (t) =>
  t.met === null
    ? "not measured"
    : t.kind === "context"
      ? t.met
        ? "context: above the bar"
        : "context: below the bar"
      : t.met
        ? "met"
        : "**missed**";

// --- console --------------------------------------------------------------------------------------

export function printSummary(r) {
  const lines = [];
  const p = (s = "") => lines.push(s);
  const pad = (s, n) => String(s).padEnd(n);
  const lpad = (s, n) => String(s).padStart(n);
  for (const w of ["w1", "w2"]) {
    const res = r.workloads[w];
    if (!res) continue;
    const phases = w === "w1" ? W1_PHASES : ["insert", "get"];
    p(`\n${w === "w1" ? "W1 mapinfo" : "W2 remote info"} — ns/op, median of ${r.settings.reps}`);
    p(`${pad("implementation", 32)}${pad("N", 8)}${phases.map((ph) => lpad(PHASE_LABEL[ph], 18)).join("")}`);
    for (const [impl, byN] of Object.entries(res.impls)) {
      for (const n of res.sizes) {
        const row = byN[n];
        if (!row) continue;
        p(
          `${pad(IMPL_LABEL[impl], 32)}${pad(sizeLabel(n), 8)}${phases.map((ph) => lpad(row.phases[ph] ? ns(row.phases[ph].median) : "–", 18)).join("")}`,
        );
      }
    }
    for (const [impl, why] of Object.entries(res.skipped)) p(`${pad(IMPL_LABEL[impl], 32)}${why}`);
  }
  const w3 = r.workloads.w3;
  if (w3) {
    p("\nW3 codec — ns/message, median");
    for (const [, who, key, label] of W3_ROWS) {
      const s = w3[who]?.phases[key];
      if (s) p(`${lpad(ns(s.median), 10)}  ${who === "c" ? "C   " : "core"}  ${label.replace(/`/g, "")}`);
    }
  }
  const w4 = r.workloads.w4;
  if (w4) {
    p(`\nW4 end to end against iwpmd — median of ${r.settings.w4.rounds} rounds`);
    if (typeof w4.skipped === "string") p(`  ${w4.skipped}`);
    else {
      p(
        `${pad("client", 50)}${lpad("p50 µs", 10)}${lpad("p99 µs", 10)}${lpad("pairs/s", 10)}${lpad("CPU µs", 9)}  (one at a time | 64 in flight)`,
      );
      for (const [name, c] of Object.entries(w4.clients)) {
        const s = c.sequential;
        const q = c.pipelined;
        p(
          `${pad(W4_LABEL[name], 50)}${lpad(fmt(s.p50Us.median), 10)}${lpad(fmt(s.p99Us.median), 10)}${lpad(fmt(s.rate.median), 10)}${lpad(fmt(s.cpuUsPerPair?.median, 1), 9)}  | ${fmt(q.p50Us.median)} / ${fmt(q.p99Us.median)} µs, ${fmt(q.rate.median)}/s, CPU ${fmt(q.cpuUsPerPair?.median, 1)} µs`,
        );
      }
      for (const [name, why] of Object.entries(w4.skipped ?? {})) p(`${pad(W4_LABEL[name], 50)}${why}`);
    }
  }
  const w5 = r.workloads.w5;
  if (w5) {
    p("\nW5 footprint");
    if (w5.core)
      p(`  core: ${fmt(w5.core.mapinfo, 1)} B per mapping, ${fmt(w5.core.remoteInfo, 1)} B per remote-info entry at ${sizeLabel(w5.n)}`);
    p(`  iwpm.wasm: ${fmt(w5.wasmBytes)} bytes`);
    if (w5.instantiate)
      p(
        `  compile + instantiate: ${fmt(w5.instantiate.compileInstantiateMs.median, 2)} ms median; instantiate again: ${fmt(w5.instantiate.instantiateMs.median, 2)} ms`,
      );
  }
  const dec = r.workloads.decode;
  if (dec?.cpuS) {
    p(`\nDecoding a ${sizeLabel(dec.messages)}-message capture — CPU s (user + system), median of ${dec.rounds}`);
    for (const [k, label] of DECODE_ROWS) if (dec.cpuS[k]) p(`${lpad(fmt(dec.cpuS[k].median, 2), 8)}  ${label.replace(/`/g, "")}`);
  }
  if (r.targets?.length) {
    p("\nTargets (reported, not asserted)");
    for (const t of r.targets)
      p(
        `  ${t.met === null ? "n/a " : t.kind === "context" ? (t.met ? "ctx+" : "ctx-") : t.met ? "met " : "MISS"}  ${t.target}: ${t.measured}`,
      );
    p("  (ctx = context line: the same bar applied to another layer, not one of the targets)");
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

// --- markdown --------------------------------------------------------------------------------------

function table(head, rows, align) {
  const a = align ?? head.map((_, i) => (i === 0 ? "---" : "---:"));
  return [`| ${head.join(" | ")} |`, `|${a.join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

function markdown(r, svgName) {
  const m = r.machine;
  const o = [];
  const p = (s = "") => o.push(s);
  p("# Benchmarks");
  p();
  p(
    `Generated by \`npm run bench\` (\`bench/run.mjs\`, see [bench/README.md](../bench/README.md)) on ${m.date.slice(0, 10)}; the raw figures of this run are in [bench/results/latest.json](../bench/results/latest.json). Every figure is the **median of ${r.settings.reps} measured runs** (after warm-up runs, see Method) unless a table says otherwise; each (workload, implementation, N) runs in a fresh process. Lower ns/op is better; ratios above 1× favour the core.`,
  );
  p();
  p("## Machine");
  p();
  p(
    table(
      ["", ""],
      [
        ["CPU", `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB`],
        ["OS", m.kernel],
        ["Node.js", m.node],
        ["gcc", `${m.gcc} (baselines built with -O2)`],
        ["iwpmd", `rdma-core ${m.iwpmd}`],
        ["date", m.date],
        ["commit", m.commit],
        ["load average (1/5/15 min) at start / end", `${m.loadavgStart.join(" ")} / ${m.loadavgEnd.join(" ")}`],
        ["run time", `${r.elapsedS} s`],
      ],
      ["---", "---"],
    ),
  );
  p();
  // A load average above the core count means other work competed for the CPUs during the run.
  const peak = Math.max(m.loadavgStart[0], m.loadavgEnd[0]);
  if (peak > m.cores) {
    p(
      `The machine is shared with other work and was loaded during this run: a 1-minute load average of ${fmt(m.loadavgStart[0], 1)} at the start and ${fmt(m.loadavgEnd[0], 1)} at the end, on ${m.cores} cores. Every process here competed for the CPUs with that work, so absolute figures are lower than on an idle machine; the ratios compare implementations measured in the same run, in turns (W4: in rounds), and hold better.`,
    );
    p();
  }
  p("## Targets");
  p();
  p(
    "Reported, not asserted (nothing in the benchmark fails on a timing). Context lines apply a target's bar to another layer (the TypeScript wrapper, the core without the API, the wider `addMapping()` path) to show where time goes; they are not targets themselves.",
  );
  p();
  p(
    table(
      ["target", "measured", "verdict"],
      (r.targets ?? []).map((t) => [t.target, t.measured, verdict(t)]),
      ["---", "---", "---"],
    ),
  );
  p();
  const missed = (r.targets ?? []).filter((t) => t.met === false || t.met === null);
  if (missed.length) {
    p("### What limits the missed targets and the context lines below their bar");
    p();
    for (const text of limits(r, missed)) {
      p(text);
      p();
    }
  }

  const w1 = r.workloads.w1;
  if (w1) {
    p("## W1 mapinfo: insert N, look up N present and N absent, remove N");
    p();
    p(
      "IPv4, distinct random addresses from a fixed seed (`bench/lib/gen.ts`, mirrored bit for bit by `bench/baselines/gen.h`); lookups and removals in a random order. \"Lookup\" finds the newest record by mapped address (`mapinfoFind(1)`); the kernel has no such call, so its row times the walk its removal does, without the unlink. ns/op per phase; the last column is the ratio of the whole cycle's time to the core's (raw exports).",
    );
    p();
    for (const [impl, detail] of Object.entries(IMPL_DETAIL.w1))
      p(`- **${IMPL_LABEL[impl]}**: ${detail}${w1.skipped[impl] ? ` — ${w1.skipped[impl]}` : ""}`);
    p();
    const rows = [];
    for (const n of w1.sizes) {
      const core = w1Total(r, "core-raw", n);
      for (const [impl, byN] of Object.entries(w1.impls)) {
        const row = byN[n];
        if (!row) continue;
        const total = w1Total(r, impl, n);
        const sampled = row.sampled && Object.values(row.sampled).some((v) => v > 0) ? " ¹" : "";
        rows.push([
          sizeLabel(n),
          IMPL_LABEL[impl] + sampled,
          ...W1_PHASES.map((ph) => (row.phases[ph] ? ns(row.phases[ph].median) : "n/a")),
          total && core ? ratio(total / core) : "–",
        ]);
      }
    }
    p(
      table(["N", "implementation", "insert", "lookup (present)", "lookup (absent)", "remove", "cycle time vs core"], rows, [
        "---",
        "---",
        "---:",
        "---:",
        "---:",
        "---:",
        "---:",
      ]),
    );
    p();
    if (anySampled(w1)) {
      p(
        `¹ The kernel design's chains grow as N/512, so a phase that would walk more than ${fmt(r.settings.budget)} list nodes is timed on a fixed-seed sample of the same operation sequence: lookups on the first S of their random order against the full table; removals at 8 evenly spaced points of the removal sequence, the table rebuilt to its exact state at each point. Sample sizes are in the JSON (\`sampled\`).`,
      );
      p();
    }
    p(`![W1 ns/op against table size, one line per implementation](${svgName})`);
    p();
  }

  const w2 = r.workloads.w2;
  if (w2) {
    p("## W2 remote info: insert N through REMOTE_INFO, get (consume) N");
    p();
    p(
      "Insert = handling one daemon → client REMOTE_INFO message (560 bytes, reference §2.2) per entry, datagrams prepared outside the timed loop, after `init(2)`; the core parses, validates, stores and emits its remote-info event. Get = `getRemoteInfo` of the mapped local and mapped remote addresses in random order, which returns the unmapped remote and deletes the entry. The core's table limit is raised to N.",
    );
    p();
    for (const [impl, detail] of Object.entries(IMPL_DETAIL.w2))
      p(`- **${IMPL_LABEL[impl]}**: ${detail}${w2.skipped[impl] ? ` — ${w2.skipped[impl]}` : ""}`);
    p();
    const rows = [];
    for (const n of w2.sizes) {
      const core = w2Total(r, "core-raw", n);
      for (const [impl, byN] of Object.entries(w2.impls)) {
        const row = byN[n];
        if (!row) continue;
        const total = w2Total(r, impl, n);
        const sampled = row.sampled && Object.values(row.sampled).some((v) => v > 0) ? " ¹" : "";
        rows.push([
          sizeLabel(n),
          IMPL_LABEL[impl] + sampled,
          row.phases.insert ? ns(med(row.phases.insert)) : row.phases.insertTable ? `(${ns(med(row.phases.insertTable))}) ²` : "–",
          ns(med(row.phases.get)),
          total && core ? ratio(total / core) : "–",
        ]);
      }
    }
    p(table(["N", "implementation", "insert", "get (consume)", "time vs core"], rows, ["---", "---", "---:", "---:", "---:"]));
    p();
    if (anySampled(w2)) {
      p("¹ Gets timed at 8 points of the get sequence, as for W1's removals (64 buckets: chains of N/64).");
      p();
    }
    if (Object.values(w2.impls["tuned-c"] ?? {}).some((row) => row.phases.insertTable)) {
      p("² The tuned C tables insert straight into the table, without a datagram to parse: not comparable with the other rows' insert.");
      p();
    }
  }

  const w3 = r.workloads.w3;
  if (w3) {
    p("## W3 codec");
    p();
    p(`${fmt(w3.ops)} messages per run, median of ${r.settings.codecReps} runs. Ratio = C's time ÷ the row's time (≥ 0.5× is the target).`);
    p();
    const rows = [];
    for (const [kind, who, key, label] of W3_ROWS) {
      const s = w3[who]?.phases[key];
      if (!s) continue;
      const c = kind === "encode" ? w3.c?.phases.encode : kind === "decode" ? w3.c?.phases.decodeReply : undefined;
      rows.push([
        label,
        who === "c" ? "C" : "core",
        ns(s.median),
        fmt(1000 / s.median, 1),
        c && who !== "c" ? ratio(c.median / s.median) : "–",
      ]);
    }
    p(table(["operation", "", "ns/message", "million messages/s", "vs C"], rows, ["---", "---", "---:", "---:", "---:"]));
    if (w3.skippedC) p(`\nC baseline: ${w3.skippedC}`);
    p();
  }

  const w4 = r.workloads.w4;
  if (w4) {
    p("## W4 end to end against the real iwpmd");
    p();
    if (typeof w4.skipped === "string") p(`${w4.skipped}.`);
    else {
      p(
        `Each client runs in a fresh network namespace with its own iwpmd (rdma-core, under the project's LD_PRELOAD library). It answers iwpmd's HELLO, registers with REG_PID, then does ADD_MAPPING round trips, each followed by REMOVE_MAPPING of the same address (fire and forget): ${fmt(w4.settings.seqCount)} one at a time, then ${fmt(w4.settings.pipeCount)} with ${w4.settings.inflight} in flight. The clients take turns in ${plural(w4.settings.rounds, "round")} (a fresh namespace and iwpmd each time, ${plural(w4.settings.warmup, "warm-up pass")} first), so all see the same machine conditions; figures are medians over the rounds. Latency = ADD issued → reply handled by the client; rate = completed ADD+REMOVE pairs per second; CPU = user + system time per pair of the client process and of iwpmd. Local addresses are distinct 10/8 addresses.`,
      );
      p();
      const rows = [];
      const c = w4.clients.c;
      for (const [name, k] of Object.entries(w4.clients)) {
        for (const phase of ["sequential", "pipelined"]) {
          const s = k[phase];
          rows.push([
            W4_LABEL[name],
            phase === "sequential" ? "1" : String(w4.settings.inflight),
            fmt(s.p50Us.median),
            fmt(s.p99Us.median),
            fmt(s.rate.median),
            c && name !== "c" ? ratio(s.rate.median / c[phase].rate.median) : "–",
            c && name !== "c" ? ratio(s.p99Us.median / c[phase].p99Us.median) : "–",
            fmt(s.cpuUsPerPair?.median, 1),
          ]);
        }
      }
      for (const [name, why] of Object.entries(w4.skipped ?? {})) rows.push([W4_LABEL[name], "–", why, "", "", "", "", ""]);
      p(
        table(["client", "in flight", "p50 µs", "p99 µs", "pairs/s", "rate vs C", "p99 vs C", "client CPU µs/pair"], rows, [
          "---",
          "---:",
          "---:",
          "---:",
          "---:",
          "---:",
          "---:",
          "---:",
        ]),
      );
      const iw = Object.entries(w4.clients)
        .filter(([, k]) => k.iwpmdCpuUsPerPair)
        .map(
          ([name, k]) =>
            `${fmt(k.iwpmdCpuUsPerPair.median, 1)} µs with the ${name === "c" ? "C client" : name === "core" ? "core client" : "API client"}`,
        );
      if (iw.length) {
        p();
        p(`iwpmd's own CPU time per pair (both phases together): ${iw.join(", ")}.`);
      }
    }
    p();
  }

  const w5 = r.workloads.w5;
  if (w5) {
    p("## W5 footprint");
    p();
    const rows = [];
    if (w5.core)
      rows.push([
        `core: Wasm linear memory grown per entry at ${sizeLabel(w5.n)} (\`memory.buffer.byteLength\` delta ÷ N)`,
        `${fmt(w5.core.mapinfo, 1)} B per mapping`,
        `${fmt(w5.core.remoteInfo, 1)} B per remote-info entry`,
      ]);
    if (w5.tsMap)
      rows.push([
        `TypeScript Map baseline: V8 heap retained per entry at ${sizeLabel(w5.n)} (entry, key string, address objects)`,
        `${fmt(w5.tsMap.mapinfo, 1)} B`,
        `${fmt(w5.tsMap.remoteInfo, 1)} B`,
      ]);
    if (w5.kernelC)
      rows.push([
        `kernel design in C: malloc'd bytes per entry at ${sizeLabel(w5.kernelC.n)} (node of ${w5.kernelC.mapinfoNode} / ${w5.kernelC.remoteInfoNode} B; the kernel's kmalloc would round both up to 512)`,
        `${fmt(w5.kernelC.mapinfo, 1)} B`,
        `${fmt(w5.kernelC.remoteInfo, 1)} B`,
      ]);
    p(table(["", "mapinfo", "remote info"], rows, ["---", "---:", "---:"]));
    p();
    const rec = recordSizes();
    if (w5.core?.memoryBytes && rec.mapinfo && rec.remoteInfo) {
      p(
        `The core's records are ${rec.mapinfo} B (mapinfo) and ${rec.remoteInfo} B (remote info) (\`RECORD_SIZE\` in assembly/tables/), plus a 4-byte slot (newest record's index and an 8-bit hash fingerprint) per distinct hash and index (two indexes for mapinfo, one for remote info; open addressing, the slot array doubles above load 3/4, so 1.3–2.7 slots per entry). The rest of the delta is allocator headroom: AssemblyScript's TLSF allocator grows linear memory by at least its current size each time (\`growMemory\` in its runtime: doubling, or more when one large block needs it), so the memory stood at ${fmt(w5.core.memoryBytes.mapinfo / 2 ** 20)} MiB and ${fmt(w5.core.memoryBytes.remoteInfo / 2 ** 20)} MiB after the ${sizeLabel(w5.n)} inserts, and the per-entry figure steps with N.`,
      );
      p();
    }
    const rows2 = [["`build/core/iwpm.wasm` (release)", `${fmt(w5.wasmBytes)} bytes (${fmt(w5.wasmBytes / 1024, 1)} KiB)`]];
    if (w5.instantiate) {
      const a = w5.instantiate.compileInstantiateMs;
      const b = w5.instantiate.instantiateMs;
      rows2.push([
        `compile + instantiate + ABI check, first in a fresh process (median of ${a.runs.length})`,
        `${fmt(a.median, 2)} ms (min ${fmt(a.min, 2)}, max ${fmt(a.max, 2)})`,
      ]);
      rows2.push(["a second instance of the compiled module", `${fmt(b.median, 2)} ms`]);
    }
    p(table(["", ""], rows2, ["---", "---:"]));
    p();
  }

  const dec = r.workloads.decode;
  if (dec?.cpuS) {
    p("## Decoding a capture: `iwpm decode` against `tshark -r`");
    p();
    p(
      `A ${fmt(dec.messages)}-message client-side netlink capture made by the run (\`test/web/big-capture.ts\`: ADD request / reply / REMOVE rounds, ${fmt(dec.bytes / 2 ** 20, 0)} MiB), read by each command with its output to /dev/null; CPU time (user + system) of the command's processes as the shell's \`times\` reports it, ${dec.rounds} rounds with every command once per round. Before timing, each command's line count is checked against the message count. Measured ${dec.date.slice(0, 16).replace("T", " ")} UTC with ${dec.tshark}, load average ${dec.loadavg.join(" ")} at the end.`,
    );
    p();
    p(
      table(
        ["command", "CPU s, median", "min", "max", "against tshark"],
        DECODE_ROWS.filter(([k]) => dec.cpuS[k]).map(([k, label]) => {
          const c = dec.cpuS[k];
          return [label, fmt(c.median, 2), fmt(c.min, 2), fmt(c.max, 2), dec.cpuS.tshark ? ratio(c.median / dec.cpuS.tshark.median) : "–"];
        }),
      ),
    );
    p();
  }
  p("## Method and caveats");
  p();
  p(
    "- Timing: `performance.now()` around whole loops in Node, `clock_gettime(CLOCK_MONOTONIC)` in C; never per operation except W4 latencies.",
  );
  p(
    `- JavaScript processes warm up first (JIT and Wasm tier-up: one or two runs on at most 100k entries) and get a full garbage collection (\`--expose-gc\`) before every run. Tables smaller than ${fmt(r.settings.roundOps)} entries repeat the insert/lookup/remove cycle so each phase times ≥ ${fmt(r.settings.roundOps)} operations.`,
  );
  p(
    "- Each run starts from a fresh core instance, Map or C table: the core's memory growth and first-touch page faults are inside its insert phase, while the C baseline reuses the heap its previous run freed.",
  );
  p(
    "- The core's raw rows include writing the arguments from JavaScript and the JS → wasm call; this is the cheapest way a host can reach the core. The wrapper and API rows show what the TypeScript layers add on top.",
  );
  p("- The kernel-design baseline leaves out the kernel's spinlock, and uses glibc malloc instead of kmalloc; both favour it.");
  p(
    `- The machine is shared; the load average at start and end of the run is in the Machine table. Run-to-run spread (min/max) is in \`bench/results/latest.json\`.`,
  );
  p();
  return `${o.join("\n")}\n`;
}

/** The core's table record sizes, read from its sources (for the W5 note); empty when not found. */
function recordSizes() {
  const read = (file) => {
    try {
      const m = /const RECORD_SIZE: u32 = (\d+);/.exec(readFileSync(new URL(`../../assembly/tables/${file}`, import.meta.url), "utf8"));
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  };
  return { mapinfo: read("mapinfo.ts"), remoteInfo: read("remote-info.ts") };
}

// --- SVG --------------------------------------------------------------------------------------------

const COLORS = {
  "core-raw": "#1f77b4",
  "core-ts": "#2ca02c",
  api: "#9467bd",
  "ts-map": "#ff7f0e",
  "kernel-c": "#d62728",
  "tuned-c": "#7f7f7f",
};
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function svg(r) {
  const w1 = r.workloads.w1;
  if (!w1) return null;
  const sizes = w1.sizes;
  const impls = Object.keys(w1.impls);
  const values = [];
  for (const impl of impls)
    for (const n of sizes) for (const ph of W1_PHASES) if (w1.impls[impl][n]?.phases[ph]) values.push(w1.impls[impl][n].phases[ph].median);
  if (values.length === 0) return null;
  const lo = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const xlo = Math.log10(sizes[0]);
  const xhi = Math.log10(sizes[sizes.length - 1]);
  const PW = 330;
  const PH = 230;
  const ML = 62;
  const MT = 58;
  const GAPX = 70;
  const GAPY = 70;
  const W = ML + 2 * PW + GAPX + 30;
  const legendH = 20 * impls.length + 10;
  const H = MT + 2 * PH + GAPY + 66 + legendH;
  const o = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  o.push(`<title>W1 mapinfo: ns per operation against table size, core against its baselines</title>`);
  o.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  o.push(
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">W1 mapinfo: ns per operation against table size (log–log, median of ${r.settings.reps} runs)</text>`,
  );
  W1_PHASES.forEach((ph, i) => {
    const ox = ML + (i % 2) * (PW + GAPX);
    const oy = MT + Math.floor(i / 2) * (PH + GAPY);
    const X = (n) => ox + (xhi === xlo ? PW / 2 : ((Math.log10(n) - xlo) / (xhi - xlo)) * PW);
    const Y = (v) => oy + PH - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * PH;
    o.push(`<text x="${ox + PW / 2}" y="${oy - 10}" text-anchor="middle" font-weight="bold">${PHASE_LABEL[ph]}</text>`);
    for (let d = Math.log10(lo); d <= Math.log10(hi) + 1e-9; d++) {
      const y = Y(10 ** d).toFixed(1);
      o.push(`<line x1="${ox}" y1="${y}" x2="${ox + PW}" y2="${y}" stroke="#ddd"/>`);
      o.push(`<text x="${ox - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${esc(fmtTick(10 ** d))}</text>`);
    }
    for (const n of sizes) {
      const x = X(n).toFixed(1);
      o.push(`<line x1="${x}" y1="${oy}" x2="${x}" y2="${oy + PH}" stroke="#eee"/>`);
      o.push(`<text x="${x}" y="${oy + PH + 16}" text-anchor="middle">${sizeLabel(n)}</text>`);
    }
    o.push(`<rect x="${ox}" y="${oy}" width="${PW}" height="${PH}" fill="none" stroke="#888"/>`);
    o.push(`<text x="${ox + PW / 2}" y="${oy + PH + 34}" text-anchor="middle" fill="#444">mappings in the table (N)</text>`);
    o.push(`<text transform="translate(${ox - 46},${oy + PH / 2}) rotate(-90)" text-anchor="middle" fill="#444">ns/op</text>`);
    for (const impl of impls) {
      const pts = sizes.filter((n) => w1.impls[impl][n]?.phases[ph]).map((n) => [X(n), Y(w1.impls[impl][n].phases[ph].median)]);
      if (pts.length === 0) continue;
      o.push(
        `<polyline fill="none" stroke="${COLORS[impl]}" stroke-width="2" points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ")}"/>`,
      );
      for (const [x, y] of pts) o.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3.5" fill="${COLORS[impl]}"/>`);
    }
  });
  const ly = MT + 2 * PH + GAPY + 66;
  impls.forEach((impl, i) => {
    const y = ly + i * 20;
    o.push(`<line x1="${ML}" y1="${y}" x2="${ML + 28}" y2="${y}" stroke="${COLORS[impl]}" stroke-width="2"/>`);
    o.push(`<circle cx="${ML + 14}" cy="${y}" r="3.5" fill="${COLORS[impl]}"/>`);
    const note =
      impl === "api"
        ? " (insert and remove only: the API has no mapinfo lookup)"
        : impl === "kernel-c"
          ? " (512 buckets; large N sampled, see docs)"
          : "";
    o.push(`<text x="${ML + 36}" y="${y}" dominant-baseline="middle">${esc(IMPL_LABEL[impl] + note)}</text>`);
  });
  o.push("</svg>");
  return `${o.join("\n")}\n`;
}

function fmtTick(v) {
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  return String(v);
}

export function writeReport(results, files) {
  const targets = evaluateTargets(results);
  const r = { ...results, targets };
  const plot = svg(r);
  if (plot) writeFileSync(files.svg, plot);
  writeFileSync(files.markdown, markdown(r, path.basename(files.svg)));
  // The tables' column widths are the formatter's business; the report lands as `npm run lint` wants it
  // (a smoke run writes under the ignored bench/.build/, which biome formats only when told to).
  const biome = fileURLToPath(new URL("../../node_modules/.bin/biome", import.meta.url));
  execFileSync(biome, ["format", "--vcs-use-ignore-file=false", "--write", files.markdown], { stdio: "ignore" });
  return { targets };
}
