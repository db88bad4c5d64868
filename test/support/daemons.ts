// The two port mappers a client can pair with, started the same way inside a test namespace:
// the real rdma-core iwpmd (under the LD_PRELOAD library) and the project's own service
// (`iwpm serve`). Both send their unsolicited messages to the client port given.

import { fileURLToPath } from "node:url";
import { startIwpmd } from "./iwpmd.js";
import type { Netns } from "./netns.js";

const CLI = fileURLToPath(new URL("../../build/dist/cli.js", import.meta.url));

export interface Daemon {
  /** Its netlink port. */
  readonly port: number;
  stop(): Promise<void>;
  log(): string;
}

export interface DaemonKind {
  name: string;
  start(ns: Netns, clientPort: number): Promise<Daemon>;
}

export const iwpmd: DaemonKind = {
  name: "iwpmd",
  start: async (ns, clientPort) => {
    const d = await startIwpmd(ns, { clientPort });
    return { port: d.port, stop: () => d.stop(), log: () => d.log() };
  },
};

/** `iwpm serve` in the namespace on NETLINK_USERSOCK; resolves once its start-up line named its netlink port. */
export const iwpmServe: DaemonKind = {
  name: "iwpm serve",
  start: (ns, clientPort) =>
    new Promise<Daemon>((resolve, reject) => {
      const child = ns.spawn(process.execPath, [CLI, "serve", "--protocol", "2", "--client-port", String(clientPort)], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let log = "";
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      const timer = setTimeout(() => reject(new Error(`iwpm serve did not start:\n${log}`)), 10_000);
      child.once("exit", (code) => reject(new Error(`iwpm serve exited with ${code}:\n${log}`)));
      child.stderr?.on("data", (d: Buffer) => {
        log += d.toString();
      });
      child.stdout?.on("data", (d: Buffer) => {
        log += d.toString();
        const m = /iwpm serve: .*, netlink port (\d+)/.exec(log);
        if (m) {
          clearTimeout(timer);
          resolve({
            port: Number(m[1]),
            log: () => log,
            stop: async () => {
              if (child.exitCode === null) child.kill("SIGTERM");
              await exited;
            },
          });
        }
      });
    }),
};
