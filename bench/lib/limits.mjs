// What limits each target the run missed, in words, with this run's figures. The causes were
// found by profiling (node --cpu-prof on the benchmark processes, a release core built with its
// name section for attribution, and the diagnostic rows of W3); bench/README.md shows how to
// repeat that. A paragraph appears only for a target this run missed or a context line below its
// bar.

const f = (x, d = 0) =>
  x === undefined || x === null || Number.isNaN(x)
    ? "?"
    : x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const m = (s) => s?.median;

function w1PerOp(r, impl, n) {
  const p = r.workloads.w1?.impls[impl]?.[n]?.phases;
  if (!p) return undefined;
  const xs = ["insert", "lookupPresent", "lookupAbsent", "remove"].map((k) => p[k]?.median).filter((x) => x !== undefined);
  return xs.length === 4 ? xs.reduce((a, b) => a + b, 0) / 4 : undefined;
}

const TEXT = {
  "w1-vs-map": (r) => {
    const big = r.workloads.w1.sizes.at(-1);
    return `At ${f(big)} entries every operation of both implementations misses the CPU caches (the core's table is ~${f(r.workloads.w5?.core?.mapinfo ?? 134)} B per mapping in linear memory): the core's insert touches two bucket heads (by local and by mapped address), the record and its neighbour in creation order; removal also unlinks from both indexes and the creation-order list. A run on a busy machine stretches exactly these memory-bound phases.`;
  },
  "w1-wrapped-vs-map": (r) => {
    const big = r.workloads.w1.sizes.at(-1);
    const raw = w1PerOp(r, "core-raw", big);
    const ts = w1PerOp(r, "core-ts", big);
    return `A context line, not one of the targets: it shows what the TypeScript wrapper costs. The core's own work is the raw row (${f(raw)} ns per operation on average at ${f(big)}); \`Core.writeAddr\` (src/core/core.ts → \`writeSockaddr\` in src/core/sockaddr.ts) adds ~${f(ts - raw)} ns per operation. Per address it builds a fresh \`DataView\` over the whole memory, fills 128 bytes, and parses the dotted text with \`parseIPv4\` (src/core/ip.ts: \`String.split\`, a regular expression per octet, \`Number()\`, a new \`Uint8Array\`). In a CPU profile of the public API's W1 run (which parses each address twice, in \`parseAddress\` and again in \`writeAddr\`), \`parseIPv4\` and its regular expression alone took ~44% of the samples, the garbage collector ~12%, and the core's Wasm functions ~10%. A cause outside the core: parsing once, or caching the 4 address bytes with the parsed address, would remove most of it.`;
  },
  "w1-vs-kernel": () =>
    "The kernel design's chains are N/512 long, so its lookups and removals grow linearly with N; where it is not far behind, N is small enough for its 512 buckets.",
  "w3-encode-record": (r) => {
    const k = r.workloads.w3.core.phases;
    return `\`encode()\` takes ${f(m(k.encodeRecord), 1)} ns against C's ${f(m(r.workloads.w3.c.phases.encode), 1)} ns. ${f(m(k.callOverhead), 1)} ns of it is the JS → Wasm call itself (the trivial-export row); the rest is the schema-driven loop over attribute ids, where C writes three fixed attributes.`;
  },
  "w3-decode": (r) => {
    const k = r.workloads.w3.core.phases;
    const c = r.workloads.w3.c.phases;
    return `\`decode()\` takes ${f(m(k.decodeReply), 1)} ns against C's ${f(m(c.decodeReply), 1)} ns. About ${f(m(k.decodeDone), 1)} ns is fixed (the 16-byte NLMSG_DONE row): the JS → Wasm call (${f(m(k.callOverhead), 1)} ns) plus clearing the record's 64 bytes of fixed fields and framing the header (\`decodeMessage\`, assembly/iwpm/codec.ts). The remaining ~${f(m(k.decodeReply) - m(k.decodeDone))} ns are two passes over the attributes: \`parseMessage\` (assembly/iwpm/schema.ts) walks them into pointer/length tables and checks each id against the schema, then \`decodeMessage\` loops over the ids again, looking up each kind and copying the value into its 128-byte slot. In a CPU profile (release core built with its name section) \`decodeMessage\` had ~49% of the samples and \`parseMessage\` ~32%; C does one pass and copies nothing: it returns pointers into the message, where the core copies each value (two 128-byte addresses here) into the flat record a host reads. This generic record serves the replay decoder and the codec tests only: the client's handlers read attributes in place, so W2 and W4 do not pay for it. Copying during the validation pass (one walk instead of two), or a record of offsets into the message instead of copies, are the levers left.`;
  },
  "w3-encode-add": (r) => {
    const k = r.workloads.w3.core.phases;
    const lean = m(k.encodeAddMappingLean);
    const full = m(k.encodeAddMapping);
    return `A context line: \`addMapping()\` is more than the encoder. It also checks the registration, takes a sequence number, reads the clock, files the request with its deadline and sends through the import. Behind a minimal bench-local host (\`send_batch\` reaches no socket, \`clock_time_get\` allocates nothing) the same call takes ${f(lean)} ns; through the project's shim ${f(full)} ns. So ~${f(full - lean)} ns (${f((100 * (full - lean)) / full)}%) is host code: \`clock_time_get\` builds a BigInt from \`performance.now()\` per call, and \`send_batch\` in src/host/shim.ts looks the socket up, checks the descriptor's bounds and hands it to the batch socket (here a null one, which writes the errno through a fresh \`DataView\`). Nothing is copied on the way out any more: the Node host's addon sends straight from core memory, where the earlier host copied every datagram twice (about 1.1 µs per call with the garbage it made).`;
  },
  "w3-decode-copy": (r) => {
    const k = r.workloads.w3.core.phases;
    return `A context line: copying the 296-byte datagram into core memory first (\`Uint8Array.prototype.set\` from a \`subarray\`) adds ~${f(m(k.decodeReplyCopy) - m(k.decodeReply))} ns to \`decode()\`, which a host with a queue-form socket (Deno, a browser) pays once per received datagram (the shim's \`recv_batch\` copies it the same way). The Node host does not: its addon's \`recvmmsg\` writes each datagram straight into the core's receive area.`;
  },
  w4: (r) => {
    const w4 = r.workloads.w4;
    const c = w4.clients.c;
    const core = w4.clients.core;
    const api = w4.clients.api;
    const iw = Object.values(w4.clients)
      .map((k) => m(k.iwpmdCpuUsPerPair))
      .filter((x) => x !== undefined);
    const iwpmd = iw.length ? `${f(Math.min(...iw), 1)}–${f(Math.max(...iw), 1)} µs` : "?";
    const lines = [];
    lines.push(
      `The daemon is the same for every client and needs ${iwpmd} of CPU per ADD+REMOVE pair (it opens, binds and later closes a TCP socket for each mapping). The C client spends ${f(m(c?.pipelined.cpuUsPerPair), 1)} µs of its own CPU per pair with 64 in flight, so it keeps iwpmd busy. The Node clients spend ${f(m(core?.pipelined.cpuUsPerPair), 1)} µs (core, raw exports)${api ? ` and ${f(m(api.pipelined.cpuUsPerPair), 1)} µs (public API)` : ""}.`,
    );
    lines.push(
      "Little of that is the core: in CPU profiles of the 64-in-flight phase, its Wasm functions took under 1% of the client's samples. Its own work per pair is about the W3 lean `addMapping()` row, plus handling one reply and one `removeMapping()`. The rest is the transport, outside the core:",
    );
    lines.push(
      "- **Receive.** The `netlink` addon (0.3.0, binding.cc `Recvmsg`) allocates a 64 KiB buffer and an N-API Buffer with a finalizer for every datagram and calls into JavaScript once per datagram. `NodeNetlinkSocket` then makes a right-sized copy and defers `onReadable` to a `setImmediate`, and the shim's `recv_from` copies it into core memory.",
    );
    lines.push(
      "- **Send.** The shim's `send_to` copies each datagram into a fresh ArrayBuffer (~1.1 µs, see W3), and `NodeNetlinkSocket.sendTo` copies it again. The addon then calls `sendmsg` at once only when its write and completion queues are both empty (binding.cc `Send`). Otherwise (typically, since completion callbacks run later) the datagram waits for the next writable poll of the event loop.",
    );
    lines.push(
      "- **Bursts.** Together, replies arrive in batches of up to 32 per wake-up and the answers leave in batches one loop turn later. The client and iwpmd take turns: a profile of the 64-in-flight phase showed the Node client idle ~55–60% of the time while iwpmd used well under one CPU. The C client answers each reply with a `sendmsg` straight away and keeps the daemon's queue full.",
    );
    if (api) {
      lines.push(
        `- **API layer.** The public API adds ~${f(m(api.pipelined.cpuUsPerPair) - m(core?.pipelined.cpuUsPerPair), 1)} µs of CPU per pair over the raw exports: parsing each address twice per call (\`parseAddress\`, then \`parseIPv4\` again in \`writeAddr\`), a promise per request, an event object per reply with its addresses formatted as text (\`readEvent\`), and re-arming the request timer on every pump.`,
      );
    }
    lines.push(
      `- **One at a time.** Latency is wake-up bound: each step wakes a blocked process. The C client sleeps in \`recv\`; the Node client goes through epoll, the \`setImmediate\` hop and, for the REMOVE and the next ADD, the deferred send. On this 2-vCPU virtual machine wake-up latency also depends on what else runs: in this run the C client's p50 ranged ${f(c?.sequential.p50Us.min)}–${f(c?.sequential.p50Us.max)} µs over the rounds. The p99 figures add garbage-collection pauses on the Node side.`,
    );
    return `${lines[0]}\n\n${lines[1]}\n\n${lines.slice(2).join("\n")}`;
  },
  "w5-bytes": (r) =>
    `Linear memory grows by doubling in the core's allocator, so the byteLength delta at ${f(r.workloads.w5.n)} is a step function of N.`,
  "w5-size": () => "The release build includes the daemon-side service as well as the client.",
  "w5-instantiate": (r) => {
    const a = r.workloads.w5.instantiate.compileInstantiateMs;
    return `Compile + instantiate ranged ${f(a.min, 2)}–${f(a.max, 2)} ms over fresh processes; the median is what the target compares. A second instance of an already compiled module takes ${f(m(r.workloads.w5.instantiate.instantiateMs), 2)} ms, so compilation dominates, and it runs on a machine shared with other work.`;
  },
};

export function limits(r, missed) {
  const out = [];
  let w4Done = false;
  for (const t of missed) {
    if (t.id.startsWith("w4-")) {
      if (w4Done) continue;
      w4Done = true;
      const w4 = r.workloads.w4;
      if (t.met === null || !w4?.clients?.c) {
        out.push(`**W4** — ${t.measured}.`);
        continue;
      }
      const v = (id) => r.targets?.find((x) => x.id === id)?.value ?? missed.find((x) => x.id === id)?.value;
      const x = (n) => (n === undefined ? "?" : `${f(n, 2)}×`);
      const api = w4.clients.api
        ? `the public API reaches ${x(v("w4-api-sequential-rate"))} the C client's rate one at a time and ${x(v("w4-api-pipelined-rate"))} with ${w4.settings.inflight} in flight, at ${x(v("w4-api-sequential-p99"))} and ${x(v("w4-api-pipelined-p99"))} its p99; `
        : "";
      out.push(
        `**W4 against the C client** — ${api}the core's raw exports (no API layer) reach ${x(v("w4-core-sequential-rate"))} and ${x(v("w4-core-pipelined-rate"))} of its rate, at ${x(v("w4-core-sequential-p99"))} and ${x(v("w4-core-pipelined-p99"))} its p99 (targets: ≥ 0.9× rate, ≤ 1.2× p99).\n\n${TEXT.w4(r)}`,
      );
      continue;
    }
    const text = TEXT[t.id]?.(r);
    out.push(`**${t.target}** — ${t.measured}.${text ? `\n\n${text}` : ""}`);
  }
  return out;
}
