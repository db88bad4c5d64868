#!/usr/bin/env node
// The `iwpm` command's entry (bundled to build/dist/cli.js); the commands live in src/cli/.

import { main } from "./cli/index.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`iwpm: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
