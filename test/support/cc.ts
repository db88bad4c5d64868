// Builds the test programs that pose as hostile local users (test/support/c/iwpm_msg.h holds what
// they share) with the system compiler and headers.

import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const INCLUDE = fileURLToPath(new URL("./c", import.meta.url));

/** Compiles `source` to `out`, warnings as errors. */
export function buildTestProgram(source: string, out: string): void {
  execFileSync("gcc", ["-O2", "-Wall", "-Werror", "-I", INCLUDE, "-o", out, source]);
}
