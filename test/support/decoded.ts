import type { Core } from "../../src/core/core.js";
import { D_MSG, D_VALUES, DV_OFFSET, DV_SIZE } from "../../src/gen/protocol.js";

/** Where attribute `id`'s payload (its last occurrence) lies: in the message the decoded record refers to. */
export function valuePtr(core: Core, id: number): number {
  const d = core.exports.decodedPtr();
  const view = core.view();
  return view.getUint32(d + D_MSG, true) + view.getUint32(d + D_VALUES + (id - 1) * DV_SIZE + DV_OFFSET, true);
}
