// iwpm decode FILE: every iwpm message of a capture, one line each.

import { directionText, fields, isoTime, summary, toJson } from "../replay/format.js";
import { CliError, type CliIO, type Command, EXIT, LineWriter, parseCommandArgs } from "./command.js";
import { loadCore, parseSide, readCaptureFile, readWarnings } from "./load.js";

const help = `Usage: iwpm decode [options] FILE

Decodes every iwpm message in a capture: the netlink traffic between a port
mapper client and iwpmd (pcap or pcapng, link type 253, e.g. written by
CaptureTap or by the iwpmd preload library's IWPM_CAPTURE mode), and iwpmd's
peer messages on UDP port 3935 in an ordinary tcpdump/Wireshark capture
(Ethernet, Linux cooked SLL/SLL2, loopback, raw IP). FILE "-" reads stdin.

One line per message:
  TIME  #INDEX  DIRECTION  MESSAGE  cCLIENT seq SEQ pid PID  SUMMARY

Options:
  -v, --verbose      every field of every message
      --json         one JSON object per line (JSON Lines)
      --absolute     absolute UTC times instead of seconds from the first packet
      --side SIDE    which socket the netlink capture was taken on: "client"
                     (sent = to the daemon) or "daemon" (sent = to the client);
                     inferred from the messages by default
  -h, --help         this text

Exit codes: 0 decoded (malformed messages are reported, not fatal),
2 bad usage, 3 unreadable file, 4 not a pcap/pcapng file.`;

async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    verbose: { type: "boolean", short: "v" },
    json: { type: "boolean" },
    absolute: { type: "boolean" },
    side: { type: "string" },
  });
  if (values.help) {
    io.stdout.write(`${help}\n`);
    return EXIT.OK;
  }
  if (positionals.length !== 1)
    throw new CliError(
      positionals.length === 0 ? "a capture FILE is required (see iwpm decode --help)" : "only one FILE at a time",
      EXIT.USAGE,
    );
  const path = positionals[0] as string;
  const side = parseSide(values.side as string | undefined);
  const core = await loadCore();
  const out = new LineWriter(io.stdout);
  const result = await readCaptureFile(path, io, core, {
    ...(side ? { side } : {}),
    stopped: () => out.closed,
    onMessages: async (batch) => {
      for (const m of batch) {
        if (values.json) {
          await out.line(JSON.stringify(toJson(m)));
          continue;
        }
        const time = values.absolute ? isoTime(m.timestamp.sec, m.timestamp.nsec) : m.time.toFixed(6).padStart(12);
        const head =
          m.proto === "netlink" ? `${m.client !== undefined ? `c${m.client} ` : ""}seq ${m.seq} pid ${m.pid}` : `IPv${m.ipVersion}`;
        await out.line(
          `${time}  #${String(m.index).padEnd(5)} ${directionText(m).padEnd(13)}  ${m.label.padEnd(22)} ${head}  ${summary(m)}`,
        );
        if (values.verbose) {
          for (const [k, v] of fields(m)) await out.line(`      ${k.padEnd(14)} ${v}`);
          await out.line("");
        }
      }
    },
  });
  await out.flush();
  for (const w of readWarnings(path, result)) io.stderr.write(`iwpm decode: ${w}\n`);
  const s = result.stats;
  if (s.invalid > 0) {
    const by = Object.entries(s.invalidByStatus)
      .map(([k, n]) => `${n} ${k}`)
      .join(", ");
    io.stderr.write(`iwpm decode: ${s.invalid} of ${s.netlinkMessages} netlink messages are malformed (${by})\n`);
  }
  if (io.stderr.isTTY && !out.closed) {
    io.stderr.write(
      `${s.messages} messages (${s.netlinkMessages} netlink, ${s.peerMessages} peer) in ${s.records} packets` +
        (s.netlinkMessages > 0 ? `; netlink captured on the ${s.side} side${s.sideInferred ? " (inferred)" : ""}` : "") +
        "\n",
    );
  }
  return EXIT.OK;
}

export const command: Command = { name: "decode", summary: "print every iwpm message of a capture (pcap/pcapng)", help, run };
export default command;
