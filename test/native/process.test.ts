/**
 * What the addon does to the process around it, seen from outside in a child Node process: an
 * exception thrown by onEvent becomes an ordinary uncaught exception (never an abort), and an
 * unreferenced socket lets the process exit.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ADDON } from "./support.js";

const SAFETY_TIMEOUT_MS = 30_000;

function node(source: string, flags: readonly string[] = []) {
  return spawnSync(process.execPath, [...flags, "--input-type=module", "-e", source, ADDON], {
    encoding: "utf8",
    timeout: SAFETY_TIMEOUT_MS,
  });
}

const OPEN_PAIR = `
const m = { exports: {} };
process.dlopen(m, process.argv[1]);
const n = m.exports;
const a = n.netlinkOpen(2, 0, 0, 0, false);
const b = n.netlinkOpen(2, 0, 0, 0, false);
const mem = new ArrayBuffer(4096);
const sendToB = () => {
  const v = new DataView(mem);
  new Uint8Array(mem, 1024, 4).set([1, 2, 3, 4]);
  v.setUint32(0, 1024, true); v.setUint32(4, 4, true); v.setUint32(8, b.port, true); v.setUint32(12, 0, true);
  return n.netlinkSend(a.handle, mem, 0, 1);
};
`;

describe("the addon in a process", () => {
  it("turns an exception thrown by onEvent into an uncaught exception the process can handle", () => {
    const out = node(`${OPEN_PAIR}
      process.on("uncaughtException", (err) => {
        console.log("caught", err.message);
        n.netlinkClose(a.handle);
        n.netlinkClose(b.handle);
      });
      n.netlinkStart(b.handle, () => { throw new Error("thrown in onEvent"); });
      sendToB();
    `);
    expect(out.stderr).toBe("");
    expect({ status: out.status, signal: out.signal }).toEqual({ status: 0, signal: null });
    expect(out.stdout.trim()).toBe("caught thrown in onEvent");
  });

  it("reports such an exception as Node reports any other when nobody handles it", () => {
    const out = node(`${OPEN_PAIR}
      n.netlinkStart(b.handle, () => { throw new Error("nobody catches this"); });
      sendToB();
    `);
    expect(out.signal).toBeNull();
    expect(out.status).toBe(1);
    expect(out.stderr).toContain("Error: nobody catches this");
  });

  it("lets the process exit while an unreferenced socket is started", () => {
    const out = node(`${OPEN_PAIR}
      n.netlinkStart(b.handle, () => {});
      n.netlinkRef(b.handle, false);
      setImmediate(() => console.log("loop ran"));
    `);
    expect({ status: out.status, signal: out.signal, stdout: out.stdout.trim() }).toEqual({ status: 0, signal: null, stdout: "loop ran" });
  });

  it("closes the descriptor of a handle that JavaScript dropped without closing", () => {
    const out = node(
      `
      import { readdirSync } from "node:fs";
      const m = { exports: {} };
      process.dlopen(m, process.argv[1]);
      const fds = () => readdirSync("/proc/self/fd").length;
      const before = fds();
      (() => { for (let i = 0; i < 10; i++) m.exports.netlinkOpen(2, 0, 0, 0, false); })();
      const opened = fds();
      globalThis.gc();
      // Node runs finalizers of addon objects after the collection, on a later turn of the loop.
      setTimeout(() => { globalThis.gc(); setTimeout(() => console.log(JSON.stringify({ before, opened, after: fds() })), 10); }, 10);
    `,
      ["--expose-gc"],
    );
    expect(out.stderr).toBe("");
    const { before, opened, after } = JSON.parse(out.stdout) as { before: number; opened: number; after: number };
    expect(opened).toBe(before + 10);
    expect(after).toBe(before);
  });
});
