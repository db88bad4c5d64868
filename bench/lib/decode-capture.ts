// Writes the decode benchmark's capture: `node decode-capture.mjs FILE N` makes an N-message
// client-side netlink capture (ADD request / reply / REMOVE rounds, test/web/big-capture.ts).

import { writeFileSync } from "node:fs";
import { bigCapture } from "../../test/web/big-capture.js";

const [file, n] = process.argv.slice(2);
if (file === undefined || n === undefined) throw new Error("usage: decode-capture FILE N");
const bytes = bigCapture(Number(n));
writeFileSync(file, bytes);
process.stdout.write(`${JSON.stringify({ bytes: bytes.length })}\n`);
