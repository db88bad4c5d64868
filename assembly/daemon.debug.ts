// The daemon core for tests (build/core/iwpmd.debug.wasm): every release export, and what only a
// test needs: the mapping table's self-check and per-port count, a fixed assochandle, a peek at
// the next header seq.

import { MAX_NL_CLIENTS } from "./iwpm/constants";
import { setNextAssoc } from "./peer/query";
import { mappingCheck, mappingCountOf } from "./service/mappings";
import { peekClientSeq } from "./service/state";

export * from "./daemon";

/** 0 when the mapping table's index and lists agree, else the first broken invariant. */
export function serviceMappingVerify(): i32 {
  return mappingCheck();
}
/** Live mappings asked for by netlink port `port`. */
export function serviceMappingCountOf(port: u32): u32 {
  return mappingCountOf(port);
}
/** The assochandle of the next query; by default a counter from a random start. */
export function serviceSetAssocHandle(hi: u32, lo: u32): void {
  setNextAssoc((<u64>hi << 32) | <u64>lo);
}
/** The header seq the next message for this client index will carry. */
export function serviceNextSeq(client: u32): u32 {
  return client < MAX_NL_CLIENTS ? peekClientSeq(client) : 0;
}
