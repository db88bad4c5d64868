// What every `iwpm` command is: a name, a one-line summary, its help text and a run function
// that returns the exit code. Commands parse their own arguments with parseCommandArgs.

import { parseArgs } from "node:util";

/** Exit codes shared by every command (listed in `iwpm --help`). */
export const EXIT = {
  OK: 0,
  /** The command ran and found what it was asked to fail on, or failed on its own. */
  FAILURE: 1,
  /** Bad command line. */
  USAGE: 2,
  /** An input file could not be read. */
  INPUT: 3,
  /** An input file is not in a format the command reads. */
  FORMAT: 4,
} as const;

export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream;
  /** Ends a long-running command (the web server) when it resolves. */
  signal?: AbortSignal;
}

export interface Command {
  name: string;
  /** One line for `iwpm --help`. */
  summary: string;
  /** The full `iwpm NAME --help` text. */
  help: string;
  run(args: string[], io: CliIO): Promise<number>;
}

/** An error the user can act on: printed as "iwpm NAME: message", exits with `code`. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly code: number = EXIT.FAILURE,
  ) {
    super(message);
  }
}

export type OptionSpec = Record<string, { type: "boolean" | "string"; short?: string; multiple?: boolean }>;

/** node:util parseArgs with strict checking; usage mistakes become CliError(USAGE). */
export function parseCommandArgs<T extends OptionSpec>(args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message.replace(/\. To specify a positional argument.*$/s, "")}`, EXIT.USAGE);
  }
}

/** Seconds from "12", "12.5", "12.5s", "500ms", "250us". */
export function parseSeconds(text: string, what: string): number {
  const m = /^\s*(-?\d+(?:\.\d+)?|-?\.\d+)\s*(s|ms|us|µs)?\s*$/.exec(text);
  if (m === null) throw new CliError(`${what} "${text}" is not a time (seconds, e.g. 1.5, 1500ms)`, EXIT.USAGE);
  const value = Number(m[1]);
  const unit = m[2] ?? "s";
  return unit === "ms" ? value / 1e3 : unit === "s" ? value : value / 1e6;
}

/** A non-negative integer option. */
export function parseCount(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new CliError(`${what} "${text}" is not a whole number`, EXIT.USAGE);
  return Number(text);
}

/** Writes text or bytes to a stream, waiting when it pushes back; resolves false once the reader is gone (EPIPE). */
export function write(stream: NodeJS.WritableStream, text: string | Uint8Array): Promise<boolean> | boolean {
  if ((stream as { destroyed?: boolean }).destroyed) return false;
  if (stream.write(text)) return true;
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      stream.off("drain", onDrain);
      stream.off("error", onError);
      stream.off("close", onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onError = () => done(false);
    const onClose = () => done(false);
    stream.on("drain", onDrain);
    stream.on("error", onError);
    stream.on("close", onClose);
  });
}

const FLUSH_AT = 1 << 16;

/** Collects lines and writes them in large pieces. */
export class LineWriter {
  private buf: string[] = [];
  private size = 0;
  closed = false;

  constructor(private readonly stream: NodeJS.WritableStream) {
    // A reader that went away (`| head`) ends the output, not the process.
    stream.on("error", () => {
      this.closed = true;
    });
  }

  async line(text: string): Promise<void> {
    this.add(text);
    if (this.due) await this.flush();
  }

  /** Adds a line without waiting (a million lines need not cost a million awaits); see `due`. */
  add(text: string): void {
    if (this.closed) return;
    this.buf.push(text);
    this.size += text.length + 1;
  }

  /** Whether enough is buffered that the caller should flush() before adding more. */
  get due(): boolean {
    return this.size >= FLUSH_AT;
  }

  async flush(): Promise<void> {
    if (this.buf.length === 0 || this.closed) return;
    const text = `${this.buf.join("\n")}\n`;
    this.buf = [];
    this.size = 0;
    if (!(await write(this.stream, text))) this.closed = true;
  }
}
