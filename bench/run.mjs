#!/usr/bin/env node
// `npm run bench`: every workload and its baselines in one run (see bench/README.md).
//
//   node bench/run.mjs            full run: results to bench/results/latest.json, report to
//                                 docs/benchmarks.md and docs/benchmarks-mapinfo.svg
//   node bench/run.mjs --smoke    tiny N and few repeats (CI): same code paths, output under
//                                 bench/.build/smoke/ so the committed report is left alone
//   --only=w1,w3                  a subset of W1..W5 and decode, output under bench/.build/partial/
//   --quiet-wait[=600]            first wait (up to 600 s) for the 1-minute load average < 0.5
//   --render                      only rewrite docs/benchmarks.md and the plot from results/latest.json
//
// Each (workload, implementation, N) runs in a process of its own. No timing is ever asserted:
// the exit status is non-zero only when something failed to run or gave wrong answers.

import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { printSummary, writeReport } from "./lib/report.mjs";
import { runW4Client, w4Unavailable } from "./lib/w4.mjs";

const bench = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(bench);
const out = path.join(bench, ".build");
const argv = process.argv.slice(2);
const smoke = argv.includes("--smoke");
const only = argv
  .find((a) => a.startsWith("--only="))
  ?.slice(7)
  .split(",")
  .map((s) => s.trim().toLowerCase());
const wants = (w) => !only || only.includes(w);

const S = smoke
  ? {
      sizes: [1000, 4000],
      reps: 2,
      warmup: 1,
      roundOps: 4000,
      codecOps: 20000,
      codecReps: 2,
      footprintN: 4000,
      instantiateRuns: 2,
      w4: { seqCount: 50, pipeCount: 200, inflight: 64, rounds: 1, warmup: 0 },
      budget: 2e6,
      decode: { messages: 20_000, rounds: 2 },
      timeoutMs: 60_000,
    }
  : {
      sizes: [1000, 100_000, 1_000_000],
      reps: 5,
      warmup: 1,
      // small tables repeat the insert/lookup/remove cycle so each phase runs >= 100k operations
      roundOps: 100_000,
      codecOps: 2_000_000,
      codecReps: 7,
      footprintN: 1_000_000,
      instantiateRuns: 9,
      // W4: clients interleaved, one fresh namespace + iwpmd per client and round
      w4: { seqCount: 2000, pipeCount: 10_000, inflight: 64, rounds: 7, warmup: 1 },
      // kernel design: a phase that would walk more list nodes than this is timed on a sample
      budget: 5e6,
      // iwpm decode against tshark -r: one capture, every command once per round
      decode: { messages: 1_000_000, rounds: 5 },
      timeoutMs: 600_000,
    };

const failures = [];
const log = (msg) => process.stderr.write(`${msg}\n`);

// --- preparation ----------------------------------------------------------------------------------

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...opts }).trim();
}

function tryRun(cmd, args) {
  try {
    return sh(cmd, args);
  } catch {
    return null;
  }
}

function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function machine() {
  const cpuinfo = tryRun("cat", ["/proc/cpuinfo"]) ?? "";
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? "unknown";
  const head = tryRun("git", ["-C", root, "rev-parse", "--short", "HEAD"]);
  const dirty = (tryRun("git", ["-C", root, "status", "--porcelain", "--", "assembly", "src"]) ?? "").length > 0;
  return {
    cpu: model.trim(),
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    gcc: tryRun("gcc", ["-dumpfullversion"]) ?? "not found",
    iwpmd: tryRun("dpkg-query", ["-W", "-f", "$" + "{Version}", "rdma-core"]) ?? "unknown",
    date: new Date().toISOString(),
    commit: head ? `${head}${dirty ? " (assembly/ or src/ modified)" : ""}` : "unknown",
    loadavgStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

async function prepare() {
  mkdirSync(out, { recursive: true });
  const wasm = path.join(root, "build/core/iwpm.wasm");
  if (!existsSync(wasm) || statSync(wasm).mtimeMs < newest(path.join(root, "assembly"))) {
    log("building the core (release)…");
    sh(
      path.join(root, "node_modules/.bin/asc"),
      ["assembly/client.ts", "--config", "asconfig.json", "--target", "release", "--outFile", wasm],
      { cwd: root },
    );
  }
  // A snapshot: the whole run measures one core even if the checkout is rebuilt meanwhile.
  copyFileSync(wasm, path.join(out, "iwpm.wasm"));

  const dist = path.join(root, "build/dist/index.js");
  let api = { available: false, reason: "skipped: API not built (build/dist/index.js missing; `npm run build` makes it)" };
  if (existsSync(dist)) {
    rmSync(path.join(out, "dist"), { recursive: true, force: true });
    cpSync(path.dirname(dist), path.join(out, "dist"), { recursive: true });
    const src = await import(pathToFileURL(path.join(out, "dist/index.js")).href).catch((err) => ({ error: err }));
    if (typeof src.openPortMapperClient === "function") api = { available: true, dist: path.join(out, "dist/index.js") };
    else api.reason = `skipped: build/dist/index.js has no openPortMapperClient${src.error ? ` (${src.error.message})` : ""}`;
  }

  // The Node socket addon as npm run build made it, beside the snapshot, so the whole run uses one
  // binary (without it the loader builds one with cc into the user's cache).
  const native = path.join(root, "build/native");
  rmSync(path.join(out, "native"), { recursive: true, force: true });
  if (existsSync(native)) cpSync(native, path.join(out, "native"), { recursive: true });

  const { build } = await import("esbuild");
  await build({
    entryPoints: {
      "core-bench": path.join(bench, "core-bench.ts"),
      "ts-map": path.join(bench, "baselines/ts-map.ts"),
      // One folder down, so the socket loader finds the addon in .build/native/ as it finds
      // build/native/ from build/dist/.
      "host/host": path.join(bench, "lib/host.ts"),
      "decode-capture": path.join(bench, "lib/decode-capture.ts"),
    },
    outdir: out,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "warning",
  });

  const c = {};
  const gcc = tryRun("gcc", ["-dumpfullversion"]);
  for (const name of ["kernel_tables", "tuned_tables", "codec", "nlclient"]) {
    if (!gcc) {
      c[name] = null;
      continue;
    }
    const exe = path.join(out, name);
    sh("gcc", ["-O2", "-Wall", "-o", exe, path.join(bench, "baselines", `${name}.c`)]);
    c[name] = exe;
  }
  return { wasm: path.join(out, "iwpm.wasm"), api, c };
}

// --- running one benchmark process ----------------------------------------------------------------

function runProcess(cmd, args, label) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b) => (stdout += b));
    child.stderr.on("data", (b) => (stderr += b));
    const timer = setTimeout(() => child.kill("SIGKILL"), S.timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split("\n").filter(Boolean).pop();
      let result = null;
      try {
        result = line ? JSON.parse(line) : null;
      } catch {
        // reported below
      }
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      if (code !== 0 || !result) {
        const why = signal ? `killed by ${signal}` : `exit ${code}`;
        failures.push(`${label}: ${why}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
        log(`  ${label}: FAILED (${why}, ${secs} s)`);
        resolve(null);
        return;
      }
      if (result.errors) failures.push(`${label}: ${result.errors} wrong answers`);
      log(`  ${label}: ${secs} s`);
      resolve(result);
    });
  });
}

const nodeArgs = ["--expose-gc", "--max-old-space-size=8192"];
const rounds = (n) => Math.max(1, Math.round(S.roundOps / n));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const stat = (runs) => ({ median: median(runs), min: Math.min(...runs), max: Math.max(...runs), runs });

function summarize(result) {
  const phases = {};
  for (const [phase, runs] of Object.entries(result.phases ?? {})) phases[phase] = stat(runs);
  const extra = {};
  for (const k of ["sampled", "bytesPerEntry", "nodeSize", "rounds", "fingerprint", "stubbedImports"])
    if (result[k] !== undefined) extra[k] = result[k];
  return { phases, ...extra };
}

// --- workloads ------------------------------------------------------------------------------------

async function tables(workload, env) {
  const impls = ["core-raw", "core-ts", "api", "ts-map", "kernel-c", "tuned-c"];
  const res = { sizes: S.sizes, impls: {}, skipped: {} };
  for (const impl of impls) {
    if (impl === "api" && !env.api.available) {
      res.skipped[impl] = env.api.reason;
      continue;
    }
    if ((impl === "kernel-c" && !env.c.kernel_tables) || (impl === "tuned-c" && !env.c.tuned_tables)) {
      res.skipped[impl] = "skipped: gcc not found";
      continue;
    }
    res.impls[impl] = {};
    for (const n of S.sizes) {
      const label = `${workload} ${impl} N=${n}`;
      const r = rounds(n);
      // JavaScript: a second warm-up run where one run is short (Wasm tier-up, JIT); the
      // processes themselves warm up on at most 100k entries.
      const native = impl === "kernel-c" || impl === "tuned-c";
      const warmup = !native && !smoke && n * r < 1_000_000 ? S.warmup + 1 : S.warmup;
      let result;
      if (impl === "kernel-c") {
        result = await runProcess(env.c.kernel_tables, [workload, n, S.reps, S.warmup, r, S.budget].map(String), label);
      } else if (impl === "tuned-c") {
        result = await runProcess(env.c.tuned_tables, [workload, n, S.reps, S.warmup, r].map(String), label);
      } else if (impl === "ts-map") {
        const cfg = { workload, n, reps: S.reps, warmup, rounds: r };
        result = await runProcess(process.execPath, [...nodeArgs, path.join(out, "ts-map.mjs"), JSON.stringify(cfg)], label);
      } else {
        const cfg = { workload, impl, n, reps: S.reps, warmup, rounds: r, wasm: env.wasm, dist: env.api.dist };
        result = await runProcess(process.execPath, [...nodeArgs, path.join(out, "core-bench.mjs"), JSON.stringify(cfg)], label);
      }
      if (result) res.impls[impl][n] = summarize(result);
    }
  }
  // Every implementation derived the same inputs (the C and TypeScript generators agree).
  const prints = new Set();
  for (const byN of Object.values(res.impls))
    for (const r of Object.values(byN)) if (r.fingerprint !== undefined) prints.add(r.fingerprint);
  if (prints.size > 1) failures.push(`${workload}: implementations generated different inputs (fingerprints ${[...prints].join(", ")})`);
  return res;
}

async function codec(env) {
  const res = { ops: S.codecOps, core: null, c: null };
  const cfg = { workload: "w3", impl: "core-raw", n: 0, reps: S.codecReps, warmup: 1, rounds: 1, ops: S.codecOps, wasm: env.wasm };
  const core = await runProcess(process.execPath, [...nodeArgs, path.join(out, "core-bench.mjs"), JSON.stringify(cfg)], "w3 core");
  if (core) res.core = summarize(core);
  if (env.c.codec) {
    const c = await runProcess(env.c.codec, [S.codecOps, S.codecReps, 1].map(String), "w3 C");
    if (c) res.c = summarize(c);
  } else res.skippedC = "skipped: gcc not found";
  return res;
}

async function endToEnd(env) {
  const why = w4Unavailable();
  if (why) return { skipped: `skipped: ${why}` };
  const { buildPreload } = await import(pathToFileURL(path.join(root, "build/preload.mjs")).href);
  const library = await buildPreload();
  const w = S.w4;
  const res = { settings: w, clients: {}, skipped: {} };
  const clients = {
    c: env.c.nlclient
      ? { command: env.c.nlclient, args: (port) => [port, w.seqCount, w.pipeCount, w.inflight, 1, w.warmup].map(String) }
      : null,
    core: {
      command: process.execPath,
      args: (port) => [path.join(bench, "w4-client.mjs"), JSON.stringify({ mode: "core", port, ...clientCfg(env) })],
    },
    api: env.api.available
      ? {
          command: process.execPath,
          args: (port) => [path.join(bench, "w4-client.mjs"), JSON.stringify({ mode: "api", port, ...clientCfg(env) })],
        }
      : null,
  };
  const runs = {};
  for (const [name, client] of Object.entries(clients)) {
    if (!client) res.skipped[name] = name === "api" ? env.api.reason : "skipped: gcc not found";
    else runs[name] = [];
  }
  // Rounds: every client once per round, so all of them see the same machine conditions.
  for (let round = 0; round < w.rounds; round++) {
    for (const name of Object.keys(runs)) {
      const started = Date.now();
      try {
        const { lines, iwpmdCpuS } = await runW4Client({
          ...clients[name],
          library,
          consoleLog: path.join(out, `w4-iwpmd-${name}.log`),
          timeoutMs: S.timeoutMs,
        });
        const rep = lines.find((l) => l.rep !== undefined);
        const done = lines.find((l) => l.done);
        const pairs = (w.warmup + 1) * (w.seqCount + w.pipeCount);
        runs[name].push({
          ...rep,
          version: lines.find((l) => l.registered)?.version,
          iwpmdCpuUsPerPair: iwpmdCpuS === undefined ? undefined : (iwpmdCpuS * 1e6) / pairs,
        });
        if (done?.errors) failures.push(`w4 ${name} round ${round + 1}: ${done.errors} failed round trips`);
        log(`  w4 round ${round + 1}/${w.rounds} ${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      } catch (err) {
        failures.push(`w4 ${name} round ${round + 1}: ${err.message}`);
        log(`  w4 round ${round + 1}/${w.rounds} ${name}: FAILED (${err.message})`);
      }
    }
  }
  for (const [name, reps] of Object.entries(runs)) {
    if (reps.length === 0) continue;
    const pick = (phase) => ({
      p50Us: stat(reps.map((r) => r[phase].p50Us)),
      p99Us: stat(reps.map((r) => r[phase].p99Us)),
      rate: stat(reps.map((r) => r[phase].rate)),
      cpuUsPerPair: stat(reps.map((r) => r[phase].cpuUsPerPair)),
    });
    const iwpmd = reps.map((r) => r.iwpmdCpuUsPerPair).filter((x) => x !== undefined);
    res.clients[name] = {
      sequential: pick("sequential"),
      pipelined: pick("pipelined"),
      iwpmdCpuUsPerPair: iwpmd.length ? stat(iwpmd) : undefined,
      version: reps[0].version,
    };
  }
  return res;
}

function clientCfg(env) {
  const w = S.w4;
  return {
    wasm: env.wasm,
    host: path.join(out, "host/host.mjs"),
    dist: env.api.dist,
    seqCount: w.seqCount,
    pipeCount: w.pipeCount,
    inflight: w.inflight,
    reps: 1,
    warmup: w.warmup,
  };
}

async function footprint(env, w1, w2) {
  const res = { n: S.footprintN, wasmBytes: statSync(env.wasm).size };
  const cfg = { workload: "w5", impl: "core-raw", n: S.footprintN, reps: 1, warmup: 0, rounds: 1, wasm: env.wasm };
  const core = await runProcess(process.execPath, [...nodeArgs, path.join(out, "core-bench.mjs"), JSON.stringify(cfg)], "w5 core memory");
  if (core) res.core = { mapinfo: core.mapinfoBytesPerEntry, remoteInfo: core.remoteInfoBytesPerEntry, memoryBytes: core.memoryBytes };
  const ts = await runProcess(
    process.execPath,
    [...nodeArgs, path.join(out, "ts-map.mjs"), JSON.stringify({ workload: "w5", n: S.footprintN, reps: 1, warmup: 0, rounds: 1 })],
    "w5 ts-map memory",
  );
  if (ts) res.tsMap = { mapinfo: ts.mapinfoBytesPerEntry, remoteInfo: ts.remoteInfoBytesPerEntry };
  const big = S.sizes[S.sizes.length - 1];
  const k1 = w1?.impls["kernel-c"]?.[big];
  const k2 = w2?.impls["kernel-c"]?.[big];
  if (k1 || k2)
    res.kernelC = {
      n: big,
      mapinfo: k1?.bytesPerEntry,
      remoteInfo: k2?.bytesPerEntry,
      mapinfoNode: k1?.nodeSize,
      remoteInfoNode: k2?.nodeSize,
    };
  const times = [];
  const warm = [];
  for (let i = 0; i < S.instantiateRuns; i++) {
    const r = await runProcess(
      process.execPath,
      [
        path.join(out, "core-bench.mjs"),
        JSON.stringify({ workload: "instantiate", impl: "core-raw", n: 1, reps: 1, warmup: 0, rounds: 1, wasm: env.wasm }),
      ],
      `w5 instantiate ${i + 1}/${S.instantiateRuns}`,
    );
    if (r) {
      times.push(r.compileInstantiateMs);
      warm.push(r.instantiateMs);
    }
  }
  if (times.length) res.instantiate = { compileInstantiateMs: stat(times), instantiateMs: stat(warm) };
  return res;
}

/**
 * Runs `cmd args` with its output to /dev/null; resolves its exit status and the CPU time (user,
 * system) it and its children used, as the shell's `times` reports it.
 */
function cpuTime(cmd, args) {
  return new Promise((resolve) => {
    const script = '"$@" >/dev/null 2>&1; s=$?; times; exit $s';
    const child = spawn("bash", ["-c", script, "bash", cmd, ...args], { stdio: ["ignore", "pipe", "ignore"] });
    let stdout = "";
    child.stdout.on("data", (b) => (stdout += b));
    const timer = setTimeout(() => child.kill("SIGKILL"), S.timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      // `times`: the shell's own user and system time, then its children's, as "XmY.YYYs XmY.YYYs"
      const last = stdout.trim().split("\n").pop() ?? "";
      const secs = [...last.matchAll(/(\d+)m([\d.]+)s/g)].map((x) => Number(x[1]) * 60 + Number(x[2]));
      resolve({ code, user: secs[0], system: secs[1] });
    });
  });
}

/** Lines a command prints, counted without keeping them. */
function countLines(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "ignore"] });
    let n = 0;
    child.stdout.on("data", (b) => {
      for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
    });
    child.on("close", (code) => resolve(code === 0 ? n : -1));
  });
}

async function decodeVsTshark(env) {
  const tshark = tryRun("tshark", ["--version"]);
  if (tshark === null) return { skipped: "skipped: tshark not found (Debian package tshark)" };
  if (!env.api.available) return { skipped: env.api.reason };
  const cli = path.join(path.dirname(env.api.dist), "cli.js");
  const { messages, rounds } = S.decode;
  const file = path.join(out, "decode.pcap");
  const made = await runProcess(process.execPath, [path.join(out, "decode-capture.mjs"), file, String(messages)], "decode capture");
  if (!made) return { skipped: "skipped: the capture could not be made" };
  const commands = {
    tshark: ["tshark", ["-r", file]],
    text: [process.execPath, [cli, "decode", file]],
    json: [process.execPath, [cli, "decode", "--json", file]],
  };
  // Every command reads the whole capture: one line per message (each record holds one).
  for (const [name, [cmd, args]] of Object.entries(commands)) {
    const lines = await countLines(cmd, args);
    if (lines !== messages) failures.push(`decode ${name}: ${lines} lines for ${messages} messages`);
  }
  const runs = { tshark: [], text: [], json: [] };
  // Rounds: each command once per round, so all of them see the same machine conditions.
  for (let round = 0; round < rounds; round++) {
    for (const [name, [cmd, args]] of Object.entries(commands)) {
      const t = await cpuTime(cmd, args);
      if (t.code !== 0 || t.user === undefined) {
        failures.push(`decode ${name} round ${round + 1}: exit ${t.code}`);
        continue;
      }
      runs[name].push(t.user + t.system);
      log(`  decode round ${round + 1}/${rounds} ${name}: ${(t.user + t.system).toFixed(2)} s CPU`);
    }
  }
  rmSync(file, { force: true });
  return {
    messages,
    bytes: made.bytes,
    rounds,
    tshark: tshark.split("\n")[0],
    date: new Date().toISOString(),
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    cpuS: Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.length ? stat(v) : null])),
  };
}

/** JSON in the repository's own format (biome, as `npm run lint` checks it), when biome is installed. */
function projectJson(value, file) {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  const biome = path.join(root, "node_modules/.bin/biome");
  if (!existsSync(biome)) return text;
  try {
    return execFileSync(biome, ["format", `--stdin-file-path=${path.relative(root, file)}`], {
      cwd: root,
      input: text,
      encoding: "utf8",
      stdio: ["pipe", "pipe", "pipe"],
    });
  } catch {
    return text;
  }
}

// --- main ------------------------------------------------------------------------------------------

if (argv.includes("--render")) {
  // Rewrites the report and plot from the committed results, measuring nothing.
  const file = path.join(bench, "results/latest.json");
  const results = JSON.parse(readFileSync(file, "utf8"));
  const report = writeReport(results, {
    markdown: path.join(root, "docs/benchmarks.md"),
    svg: path.join(root, "docs/benchmarks-mapinfo.svg"),
  });
  results.targets = report.targets;
  writeFileSync(file, projectJson(results, file));
  log(`rewrote docs/benchmarks.md and docs/benchmarks-mapinfo.svg from ${path.relative(root, file)}`);
  process.exit(0);
}

const quietArg = argv.find((a) => a.startsWith("--quiet-wait"));
if (quietArg) {
  // Waits (up to the given seconds, default 600) for the 1-minute load average to drop below 0.5.
  const limit = Number(quietArg.split("=")[1] ?? 600) * 1000;
  const until = Date.now() + limit;
  while (os.loadavg()[0] >= 0.5 && Date.now() < until) {
    log(`waiting for a quiet machine (load ${os.loadavg()[0].toFixed(2)})…`);
    await new Promise((resolve) => setTimeout(resolve, 15_000));
  }
}

const t0 = Date.now();
const env = await prepare();
const results = { schema: 1, mode: smoke ? "smoke" : "full", machine: machine(), settings: S, workloads: {} };
log(
  `iwpm benchmarks (${results.mode}) on ${results.machine.cpu}, ${results.machine.cores} cores, load ${results.machine.loadavgStart.join(" ")}`,
);
if (!env.api.available) log(`  public API: ${env.api.reason}`);

if (wants("w1")) results.workloads.w1 = await tables("w1", env);
if (wants("w2")) results.workloads.w2 = await tables("w2", env);
if (wants("w3")) results.workloads.w3 = await codec(env);
if (wants("w4")) {
  results.workloads.w4 = await endToEnd(env);
  if (results.workloads.w4.skipped && typeof results.workloads.w4.skipped === "string") log(`  w4: ${results.workloads.w4.skipped}`);
}
if (wants("w5")) results.workloads.w5 = await footprint(env, results.workloads.w1, results.workloads.w2);
if (wants("decode")) {
  results.workloads.decode = await decodeVsTshark(env);
  if (results.workloads.decode.skipped) log(`  decode: ${results.workloads.decode.skipped}`);
}

results.machine.loadavgEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
results.elapsedS = Math.round((Date.now() - t0) / 100) / 10;
results.failures = failures;

// Only a complete full run replaces the committed results and report.
const scratch = smoke ? path.join(out, "smoke") : only ? path.join(out, "partial") : null;
const resultsFile = scratch ? path.join(scratch, "latest.json") : path.join(bench, "results/latest.json");
const docsDir = scratch ?? path.join(root, "docs");
mkdirSync(path.dirname(resultsFile), { recursive: true });
mkdirSync(docsDir, { recursive: true });
const report = writeReport(results, { markdown: path.join(docsDir, "benchmarks.md"), svg: path.join(docsDir, "benchmarks-mapinfo.svg") });
results.targets = report.targets;
writeFileSync(resultsFile, projectJson(results, resultsFile));
printSummary(results);
log(
  `\nwrote ${path.relative(root, resultsFile)}, ${path.relative(root, path.join(docsDir, "benchmarks.md"))}, ${path.relative(root, path.join(docsDir, "benchmarks-mapinfo.svg"))} in ${results.elapsedS} s`,
);
if (failures.length) {
  log(`\n${failures.length} problem(s):\n  ${failures.join("\n  ")}`);
  process.exitCode = 1;
}
