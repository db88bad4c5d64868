import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The core's layers (docs/design.md): folders import one another in one direction only, and the
// client and the daemon share library code but never import each other.

const ASSEMBLY = fileURLToPath(new URL("../../assembly/", import.meta.url));

/** Module (path under assembly/, no extension) → the modules it imports. */
type Graph = Map<string, string[]>;

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"|(?:^|\n)\s*import\s*"([^"]+)"/g;

function readGraph(): Graph {
  const graph: Graph = new Map();
  for (const entry of readdirSync(ASSEMBLY, { recursive: true, encoding: "utf8" })) {
    if (!entry.endsWith(".ts")) continue;
    const from = entry.slice(0, -3).split(path.sep).join("/");
    const text = readFileSync(path.join(ASSEMBLY, entry), "utf8");
    const targets: string[] = [];
    for (const m of text.matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2]) as string;
      if (spec.startsWith(".")) targets.push(path.posix.normalize(path.posix.join(path.posix.dirname(from), spec)));
    }
    graph.set(from, targets);
  }
  return graph;
}

/** A module's layer: its folder, or the file itself at the top (the entries, bindings, status, …). */
const layer = (module: string) => (module.includes("/") ? `${module.split("/")[0]}/` : module);

const CLIENT = new Set(["client/", "client", "client.debug"]);
const DAEMON = new Set(["daemon/", "service/", "peer/", "daemon", "daemon.debug"]);
const side = (l: string) => (CLIENT.has(l) ? "client" : DAEMON.has(l) ? "daemon" : "shared");

/** Every import that breaks the rules, as "from -> to: why". */
function violations(graph: Graph): string[] {
  const out: string[] = [];
  const layers = new Map<string, Set<string>>();
  for (const [from, targets] of graph) {
    for (const to of targets) {
      if (!graph.has(to)) out.push(`${from} -> ${to}: no such module`);
      const [a, b] = [layer(from), layer(to)];
      if (a === b) continue;
      const [sa, sb] = [side(a), side(b)];
      if (sa !== sb && sb !== "shared") out.push(`${from} -> ${to}: ${sa === "shared" ? "library code" : `the ${sa}`} imports the ${sb}`);
      const set = layers.get(a) ?? new Set<string>();
      set.add(b);
      layers.set(a, set);
    }
  }
  // A cycle between layers: a layer that reaches itself.
  for (const start of layers.keys()) {
    const seen = new Set<string>();
    const stack = [...(layers.get(start) ?? [])];
    while (stack.length > 0) {
      const l = stack.pop() as string;
      if (l === start) {
        out.push(`${start}: in an import cycle between folders`);
        break;
      }
      if (seen.has(l)) continue;
      seen.add(l);
      stack.push(...(layers.get(l) ?? []));
    }
  }
  return out;
}

describe("the core's import graph", () => {
  it("has no cycle between folders and no import between the client and the daemon", () => {
    const graph = readGraph();
    expect(graph.has("client")).toBe(true);
    expect(graph.has("daemon")).toBe(true);
    expect(violations(graph)).toEqual([]);
  });

  it("the check finds a cycle, a client-daemon import and library code that imports a role", () => {
    const graph: Graph = new Map([
      ["service/mappings", ["peer/query"]],
      ["peer/query", ["service/mappings"]],
      ["client/state", ["service/state", "lib/clock"]],
      ["service/state", []],
      ["lib/clock", ["client/state"]],
    ]);
    expect(violations(graph).sort()).toEqual(
      [
        "client/: in an import cycle between folders",
        "client/state -> service/state: the client imports the daemon",
        "lib/: in an import cycle between folders",
        "lib/clock -> client/state: library code imports the client",
        "peer/: in an import cycle between folders",
        "service/: in an import cycle between folders",
      ].sort(),
    );
  });
});
