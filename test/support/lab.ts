// What an interop test started (namespaces, iwpmd, agents, other processes), and one way to take it
// down after each case: processes first, then their namespaces, every step even if another fails;
// what they printed is shown when the case failed or IWPM_TEST_LOG=1.

import type { Agent } from "./agent.js";
import type { Iwpmd } from "./iwpmd.js";
import type { Netns } from "./netns.js";

interface Running {
  label: string;
  output?: () => string;
  stop: () => unknown;
}

interface CaseContext {
  task: { result?: { state?: string } };
}

export class Lab {
  private readonly running: Running[] = [];
  private readonly namespaces: Netns[] = [];

  namespace(ns: Netns): Netns {
    this.namespaces.push(ns);
    return ns;
  }

  daemon(d: Iwpmd): Iwpmd {
    this.running.push({ label: `iwpmd ${d.pid}`, output: () => d.log(), stop: () => d.stop() });
    return d;
  }

  agent(a: Agent): Agent {
    this.running.push({ label: `agent ${a.port} stderr`, output: () => a.proc.stderr(), stop: () => a.close() });
    return a;
  }

  /** Anything else to stop, with what it printed if there is a way to read it. */
  process(label: string, stop: () => unknown, output?: () => string): void {
    this.running.push({ label, output, stop });
  }

  /** Stops everything started since the last call; throws one AggregateError for what failed. */
  async end(ctx?: CaseContext): Promise<void> {
    if (ctx?.task.result?.state === "fail" || process.env.IWPM_TEST_LOG === "1") {
      for (const r of this.running) if (r.output) console.log(`--- ${r.label} ---\n${r.output()}`);
    }
    const results = await Promise.allSettled(this.running.splice(0).map(async (r) => r.stop()));
    const nsResults = await Promise.allSettled(this.namespaces.splice(0).map((ns) => ns.destroy()));
    const failed = [...results, ...nsResults].filter((r) => r.status === "rejected");
    if (failed.length > 0) {
      throw new AggregateError(
        failed.map((r) => (r as PromiseRejectedResult).reason),
        "cleanup failed",
      );
    }
  }
}
