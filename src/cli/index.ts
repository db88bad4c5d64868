// The `iwpm` command: a dispatcher over subcommands, each a module of its own.
//
// To add a command: write src/cli/NAME.ts default-exporting a Command (src/cli/command.ts), and
// add one line to COMMANDS below. Modules load only when their command runs.

import type { CliIO, Command } from "./command.js";
import { CliError, EXIT } from "./command.js";

type Loader = () => Promise<{ default: Command }>;

const COMMANDS: Record<string, Loader> = {
  decode: () => import("./decode.js"),
  dissector: () => import("./dissector.js"),
  demo: () => import("./demo.js"),
  replay: () => import("./replay.js"),
  serve: () => import("./serve.js"),
  web: () => import("./web.js"),
};

const VERSION = "0.1.0";

async function usage(): Promise<string> {
  const lines: string[] = [];
  for (const [name, load] of Object.entries(COMMANDS)) {
    const { default: c } = await load();
    lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  }
  return `Usage: iwpm COMMAND [options] [arguments]

iWARP port mapper tools.

Commands:
${lines.join("\n")}

Run \`iwpm COMMAND --help\` for a command's options.

Exit codes: 0 success, 1 failure, 2 bad usage, 3 unreadable input file,
4 input not in a format the command reads.`;
}

function nodeIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
}

/** Runs the command line `argv` (without node and the script); resolves the exit code. */
export async function main(argv: string[], io: CliIO = nodeIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    if (name === "help" && rest[0] !== undefined) return main([rest[0], "--help"], io);
    (name === undefined ? io.stderr : io.stdout).write(`${await usage()}\n`);
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === "--version" || name === "-V") {
    io.stdout.write(`iwpm ${VERSION}\n`);
    return EXIT.OK;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (load === undefined) {
    io.stderr.write(`iwpm: unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(", ")} (iwpm --help)\n`);
    return EXIT.USAGE;
  }
  const { default: command } = await load();
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(`iwpm ${name}: ${err.message}\n`);
      return err.code;
    }
    io.stderr.write(`iwpm ${name}: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.FAILURE;
  }
}
