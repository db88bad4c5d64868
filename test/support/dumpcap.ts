import type { ChildProcess } from "node:child_process";
import type { Netns } from "./netns.js";

// dumpcap recording the port mappers' UDP exchange on a namespace's interface, for the tests
// that read real peer traffic back with the decoder and tshark.

/** Starts `dumpcap` in `ns` on `iface` for UDP `port` into `file` (pcapng, or classic pcap with `pcap`); resolves once it captures. */
export function startDumpcap(
  ns: Netns,
  dumpcap: string,
  o: { iface: string; port: number; file: string; pcap?: boolean },
): Promise<ChildProcess> {
  const args = ["-i", o.iface, "-f", `udp port ${o.port}`, "-w", o.file, ...(o.pcap ? ["-P"] : [])];
  const child = ns.spawn(dumpcap, args, { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    let err = "";
    const timer = setTimeout(() => reject(new Error(`dumpcap did not start: ${err}`)), 10_000);
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      err += chunk;
      if (err.includes("Capturing on")) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`dumpcap exited (${code}): ${err}`));
    });
  });
}

/** SIGINT (dumpcap then writes out its file), SIGKILL after 3 s. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGINT");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}
