import type { Core } from "../../src/core/core.js";
import { D_EXTRA, D_VALUES, DV_OFFSET, DV_SIZE, NLMSG_HDRLEN } from "../../src/gen/protocol.js";

/** Where the decoded record keeps the payload of attribute `id` (its last occurrence): in the body it holds. */
export function valuePtr(core: Core, id: number): number {
  const d = core.exports.decodedPtr();
  const offset = core.view().getUint32(d + D_VALUES + (id - 1) * DV_SIZE + DV_OFFSET, true);
  return d + D_EXTRA + offset - NLMSG_HDRLEN;
}
