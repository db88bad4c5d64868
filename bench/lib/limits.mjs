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

/** The core's tables against tuned_tables.c: where the extra time of each W1 phase goes. */
function tunedText(r) {
  const big = r.workloads.w1.sizes.at(-1);
  const small = r.workloads.w1.sizes[0];
  const core = r.workloads.w1.impls["core-raw"];
  const tuned = r.workloads.w1.impls["tuned-c"];
  const fixed = m(core?.[small]?.phases.lookupAbsent) - m(tuned?.[small]?.phases.lookupAbsent);
  return `At ${f(small)} entries everything is in cache, and a raw lookup costs ~${f(fixed)} ns more than C's: the address written into the argument slot with \`DataView\`, the JS → Wasm call and the conversion of the sockaddr to the compact form. At ${f(big)} entries both are bound by memory. The tuned C keeps the mapped address inline in its 28-byte slot, so a present lookup is one cache miss; the core's 4-byte slot holds only the newest record's index and 8 bits of the hash, so a hit also reads that record (a miss almost always fails on the fingerprint, touching no record). Removal in the core also unlinks from the index by local address and from the creation-order list (the resend order of a restarted daemon), which C does not keep: one more slot and two neighbouring records, independent loads. Keys inline as in C would cost at least 20 more bytes per slot and index: a million mappings would no longer fit in 96 MiB, and the allocator doubles linear memory past that, to ~200 B per mapping against the 150-byte budget.`;
}

const TEXT = {
  "w1-vs-map": (r) => {
    const big = r.workloads.w1.sizes.at(-1);
    return `At ${f(big)} entries every operation of both implementations misses the CPU caches (the core's table is ~${f(r.workloads.w5?.core?.mapinfo ?? 134)} B per mapping in linear memory): the core's insert touches two index slots (by local and by mapped address), the record and its neighbour in creation order; removal also unlinks from both indexes and the creation-order list. A run on a busy machine stretches exactly these memory-bound phases.`;
  },
  "w1-wrapped-vs-map": (r) => {
    const big = r.workloads.w1.sizes.at(-1);
    const raw = w1PerOp(r, "core-raw", big);
    const ts = w1PerOp(r, "core-ts", big);
    return `A context line, not one of the targets: it shows what the TypeScript wrapper costs. The core's own work is the raw row (${f(raw)} ns per operation on average at ${f(big)}); \`Core.writeAddr\` (src/core/core.ts → \`writeSockaddr\` in src/core/sockaddr.ts) adds ~${f(ts - raw)} ns per operation: it parses the dotted text into one number (\`parseIPv4Number\`, src/core/ip.ts, nothing allocated), clears the 128-byte slot word by word and writes through the one \`DataView\` the wrapper keeps until memory grows. The public API writes a plain IPv4 argument (\`"a.b.c.d:port"\` or an object with no IPv6 field) straight from its text into the slot (\`plainText\`, src/api/address.ts, then \`Core.writeTextV4\`): nothing is allocated, and only the first 28 bytes (a \`sockaddr_in6\`'s size) are written, since the core copies the slot into the datagram as it is and the rest of it is never written with anything but zeros; any other address is parsed once (\`parseSockAddr\`) and handed over as bytes. A call with two addresses reaches both texts before parsing either: at 1M the inputs miss the caches, and a removal visits them in random order, so the second input's misses overlap the first's. Those misses are why removal costs the API about twice what insertion does: insertion walks the inputs in the order they were made, which the prefetcher follows, and the Map baseline's removal reads only the mapped address. A call's error label is made only when an error is.`;
  },
  "api-vs-map": () =>
    "Each call is the raw core's operation plus reading the caller's two address objects and their text. At 1M those inputs miss the caches as the tables do; a removal visits them in random order (insertion walks them in the order they were made, which the prefetcher follows) and has to read both addresses, where the Map baseline's removal reads only the mapped one. The API reaches both texts before parsing either, so the two inputs' misses overlap.",
  "w1-vs-tuned": (r) => tunedText(r),
  "w1-insert-vs-tuned": (r) => tunedText(r),
  "w2-get-vs-tuned": () =>
    "Both read a slot and then the entry's record (for the remote address a get returns); the core also compares the two keys in that record, where the tuned C compares them in its slot, and leaves a tombstone where C shifts the cluster back. The rest is the fixed cost seen in W1: the two addresses written into the argument slots from JavaScript, the JS → Wasm call and the conversion of each sockaddr to the compact form.",
  "w1-vs-kernel": () =>
    "The kernel design's chains are N/512 long, so its lookups and removals grow linearly with N; where it is not far behind, N is small enough for its 512 buckets.",
  "w3-encode-record": (r) => {
    const k = r.workloads.w3.core.phases;
    return `\`encode()\` takes ${f(m(k.encodeRecord), 1)} ns against C's ${f(m(r.workloads.w3.c.phases.encode), 1)} ns. ${f(m(k.callOverhead), 1)} ns of it is the JS → Wasm call itself (the trivial-export row); the rest is writing the header from the record (two wide copies; the tail stays where the record refers to it, in the codec buffer) and, most of it, validating the message again so that a value a host changed cannot make a receiver drop it: one walk over the attributes (\`walkAttrs\`, assembly/netlink/attr.ts), each framed from the length of the one before and checked against one packed size rule per (direction, op, id). C writes three fixed attributes and validates nothing.`;
  },
  "w3-decode": (r) => {
    const k = r.workloads.w3.core.phases;
    const c = r.workloads.w3.c.phases;
    return `\`decode()\` takes ${f(m(k.decodeReply), 1)} ns against C's ${f(m(c.decodeReply), 1)} ns. About ${f(m(k.decodeDone), 1)} ns is fixed (the 16-byte NLMSG_DONE row): the JS → Wasm call (${f(m(k.callOverhead), 1)} ns) plus framing the header and writing the record's fixed fields (\`decodeMessage\`, assembly/iwpm/codec.ts). The remaining ~${f(m(k.decodeReply) - m(k.decodeDone))} ns are the message itself, in one pass (\`walkAttrs\`, inlined into the decoder): each attribute framed, checked against the (direction, op, version) policy, listed (id, offset, size, in arrival order, unknown and duplicate ones included) and its offset and length written into the record's value entry. Nothing is copied: the record refers to the message where it lies in core memory (\`D_MSG\`), and \`encode()\` writes it back from there. C checks three fixed attributes and returns pointers into the message. The list keeps the record lossless (the codec re-encodes any message byte for byte and the replay shows unknown attributes); what is left is mostly the walk itself: each attribute's position depends on the length read from the one before, a chain of loads that C's loop has as well.`;
  },
  "w3-encode-add": (r) => {
    const k = r.workloads.w3.core.phases;
    const lean = m(k.encodeAddMappingLean);
    const full = m(k.encodeAddMapping);
    return `A context line: \`addMapping()\` is more than the encoder. It also checks the registration, takes a sequence number, reads the clock, files the request with its deadline and sends through the import. Behind a minimal bench-local host (\`send_batch\` reaches no socket, \`clock_time_get\` allocates nothing) the same call takes ${f(lean)} ns; through the project's shim ${f(full)} ns. So ~${f(full - lean)} ns (${f((100 * (full - lean)) / full)}%) is host code: \`clock_time_get\` reads \`performance.now()\` (the lean host stores a value read outside the loop) and writes it as two u32 words, and \`send_batch\` in src/host/shim.ts looks the socket up, checks the descriptor's bounds and hands it to the batch socket (here a null one, which writes the errno through a fresh \`DataView\`). The shim asks \`memory.buffer\` only after a grow detached the buffer it holds; that getter, asked by every import call before, cost as much as the rest of a clock read. Nothing is copied on the way out any more: the Node host's addon sends straight from core memory, where the earlier host copied every datagram twice (about 1.1 µs per call with the garbage it made).`;
  },
  "w3-shim-vs-lean": () =>
    "The difference is host code, the same per call whatever the core does: the shim's `clock_time_get` reads `performance.now()` and writes it as two u32 words, and its `send_batch` looks the socket up, checks the descriptors' bounds and hands them to the batch socket; the minimal host returns a stored time and sends nothing.",
  "w3-decode-copy": (r) => {
    const k = r.workloads.w3.core.phases;
    return `A context line: copying the 296-byte datagram into core memory first (\`Uint8Array.prototype.set\` from a \`subarray\`) adds ~${f(m(k.decodeReplyCopy) - m(k.decodeReply))} ns to \`decode()\`, which a host with a queue-form socket (Deno, a browser) pays once per received datagram (the shim's \`recv_batch\` copies it the same way). The Node host does not: its addon's \`recvmmsg\` writes each datagram straight into the core's receive area.`;
  },
  w4: (r) => {
    const w4 = r.workloads.w4;
    const c = w4.clients.c;
    const core = w4.clients.core;
    const api = w4.clients.api;
    const iwMed = Object.values(w4.clients)
      .map((k) => m(k.iwpmdCpuUsPerPair))
      .filter((x) => x !== undefined);
    const iw = iwMed.length ? iwMed.reduce((a, b) => a + b, 0) / iwMed.length : undefined;
    const cpu = (k, phase) => m(k?.[phase].cpuUsPerPair);
    // On a CPU-bound machine a pair costs the client's CPU plus iwpmd's, so that sum predicts the rate.
    const bound = (k, phase) => (iw === undefined || cpu(k, phase) === undefined ? undefined : 1e6 / (cpu(k, phase) + iw));
    const row = (name, k, phase) =>
      `${name} ${f(cpu(k, phase), 1)} µs → ${f(bound(k, phase))} pairs/s predicted, ${f(m(k?.[phase].rate))} measured`;
    const lines = [];
    lines.push(
      `The daemon is the same for every client and needs ${f(iw, 1)} µs of CPU per ADD+REMOVE pair (it opens, binds and later closes a TCP socket for each mapping). The machine was loaded (see the load average above), so the client and iwpmd compete for the same two CPUs, and the rate follows the CPU a pair costs both processes together, 10⁶ / (client µs + iwpmd µs):`,
    );
    for (const phase of ["sequential", "pipelined"]) {
      const label = phase === "sequential" ? "one at a time" : `${w4.settings.inflight} in flight`;
      const parts = [row("C", c, phase), row("core", core, phase)];
      if (api) parts.push(row("public API", api, phase));
      lines.push(`- ${label}: ${parts.join("; ")}.`);
    }
    lines.push(
      `So what limits every W4 figure is the client's own CPU per pair: ${f(cpu(api ?? core, "sequential"), 1)} µs one at a time against C's ${f(cpu(c, "sequential"), 1)} µs. To reach 0.9× C's rate one at a time a client could spend about ${f((cpu(c, "sequential") + iw) / 0.9 - iw, 1)} µs per pair; to match it with ${w4.settings.inflight} in flight, about C's ${f(cpu(c, "pipelined"), 1)} µs. Where the Node client's CPU goes (CPU profiles and \`strace -c\` of the clients in this benchmark):`,
    );
    lines.push(
      "- **System calls.** Per pair the C client makes three: `sendto` (ADD), a blocking `recv` (the reply) and `sendto` (REMOVE). The Node clients make four: `sendmmsg` (ADD), libuv's `epoll_pwait`, `recvmmsg` (the reply) and `sendmmsg` (REMOVE). Once the addon has found the queue empty since the last wake-up it answers \"nothing queued\" without a syscall (the poll is level-triggered, so a datagram arriving meanwhile wakes it again), which removed the EAGAIN `recvmmsg` that ended every pass and the one each API call's pump made (`strace -c` over 2,000 pairs one at a time: 2,003 `recvmmsg`, where there were 6,150, 4,148 of them EAGAIN). The native `recvBatch`/`sendBatch` calls took ~13% of the API client's profile samples (idle time included), which includes the kernel's delivery of each datagram to iwpmd.",
    );
    lines.push(
      "- **The wake-up path.** A reply reaches the core through libuv's `uv_poll` callback, a node-api call into JavaScript, the client's pump, the core's `poll()`, the shim's `recv_batch` import and the addon again: four crossings between C, JavaScript and Wasm before the first byte is handled. Nothing is allocated or copied per datagram any more (the receive area and the transmit descriptors are in core memory), and the core's own Wasm functions took under 2% of the samples (4–5% of the busy ones).",
    );
    if (api) {
      lines.push(
        `- **API layer.** The public API adds ~${f(cpu(api, "sequential") - cpu(core, "sequential"), 1)} µs per pair one at a time and ~${f(cpu(api, "pipelined") - cpu(core, "pipelined"), 1)} µs with ${w4.settings.inflight} in flight over the raw exports: a promise per request and an event object per reply (its mapped address turned into a \`SockAddr\` when the result is built). The request timer stays armed while requests come and go (it was cleared and set again for every pair one at a time), and \`removeMapping()\` writes a plain IPv4 address without allocating. An address is parsed once, into the bytes the core takes, a call's error label is formatted only when an error is made, and a request's TS side is its one waiter. Garbage collection took ~5% of its samples.`,
      );
    }
    lines.push(
      `- **p99 one at a time.** The C client's p99 (${f(m(c?.sequential.p99Us))} µs) is a scheduler wake-up; the Node clients' add garbage-collection pauses and the longer wake-up path above, on a machine shared with other work (core ${f(m(core?.sequential.p99Us))} µs${api ? `, API ${f(m(api.sequential.p99Us))} µs` : ""}).`,
    );
    lines.push(
      "The lever left in the API: build the reply's result without an event object; the rest is the core and the socket path (the raw row). A p99 on this machine also moves from run to run with what else runs on its two CPUs.",
    );
    return `${lines[0]}\n\n${lines.slice(1, 3).join("\n")}\n\n${lines[3]}\n\n${lines.slice(4, -1).join("\n")}\n\n${lines[lines.length - 1]}`;
  },
  "decode-vs-tshark": () =>
    "In a `node --cpu-prof` profile of the text output, about a third of the time is reading the capture and framing its datagrams (`CaptureReader`, `parseNetlinkRecord`, the core's `frameDatagram`), a third is decoding each message with the core and reading its record into a message object (`CaptureDecoder.read`: the attribute values and texts, the attribute list kept for `-x` and `--json`), and the rest is formatting: the time column (`toFixed`), the summary text and writing the line's bytes. The collector takes under a tenth. The lever left is a plain-text path that formats straight from the core's decoded record, without a message object per message.",
  "decode-json-vs-text": () =>
    "A JSON line holds every field of the message (its attribute list with offsets, names and lengths), about three times the bytes of a text line; the time spent follows the bytes written, member by member, straight into the output buffer.",
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
        `**W4 against the C client** — ${api}the core's raw exports (no API layer) reach ${x(v("w4-core-sequential-rate"))} and ${x(v("w4-core-pipelined-rate"))} of its rate, at ${x(v("w4-core-sequential-p99"))} and ${x(v("w4-core-pipelined-p99"))} its p99 (targets: rate ≥ 0.9× one at a time and ≥ 1.0× in flight, p99 ≤ 1.2×, client CPU per pair ≤ 2×).\n\n${TEXT.w4(r)}`,
      );
      continue;
    }
    const text = TEXT[t.id]?.(r);
    out.push(`**${t.target}** — ${t.measured}.${text ? `\n\n${text}` : ""}`);
  }
  return out;
}
