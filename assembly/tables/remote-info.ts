import { ADDR_SIZE, addrEqual, addrFromSockaddr, addrHash } from "../iwpm/sockaddr";
import { HashIndex } from "./hash-index";
import { NIL, Slab, SLAB_MAX_RECORDS } from "./slab";

// The remote-info table: who is about to connect to a listener, keyed by the
// listener's mapped local address and the connecting side's mapped address
// (reference §4.7). A get consumes the entry. The table is bounded so that a
// flood of REMOTE_INFO cannot grow it without limit.

const R_MAPPED_LOCAL: usize = 0;
const R_MAPPED_REMOTE: usize = 28;
const R_REMOTE: usize = 56;
const R_CLIENT: usize = 84;
const R_HASH: u32 = 88;
const R_NEXT: u32 = 92;
const RECORD_SIZE: u32 = 96;

const SEED: u32 = 0x72696e66;

const slab = new Slab(RECORD_SIZE);
const index = new HashIndex(slab, R_HASH, R_NEXT);
let limit: u32 = 65536;

export function remoteInfoSetLimit(n: u32): void {
  limit = min(n, SLAB_MAX_RECORDS);
}

// @ts-ignore: decorator
@inline
function keyHash(mappedLocal: usize, mappedRemote: usize): u32 {
  return addrHash(mappedRemote, addrHash(mappedLocal, SEED));
}

/**
 * Adds an entry from a REMOTE_INFO's sockaddrs (of families the caller checked), made compact
 * straight into the record; false when the table is at its limit.
 */
export function remoteInfoInsert(mappedLocal: usize, mappedRemote: usize, remote: usize, client: u32): bool {
  if (slab.live >= limit) return false;
  const i = slab.alloc();
  const r = slab.ptr(i);
  addrFromSockaddr(r + R_MAPPED_LOCAL, mappedLocal);
  addrFromSockaddr(r + R_MAPPED_REMOTE, mappedRemote);
  addrFromSockaddr(r + R_REMOTE, remote);
  store<u8>(r + R_CLIENT, <u8>client);
  index.insert(i, keyHash(r + R_MAPPED_LOCAL, r + R_MAPPED_REMOTE));
  return true;
}

/** Finds the newest matching entry, copies its remote address to `outRemote` and deletes it. */
export function remoteInfoTake(mappedLocal: usize, mappedRemote: usize, outRemote: usize): bool {
  let i = index.first(keyHash(mappedLocal, mappedRemote));
  while (i != NIL) {
    const r = slab.ptr(i);
    if (addrEqual(r + R_MAPPED_LOCAL, mappedLocal) && addrEqual(r + R_MAPPED_REMOTE, mappedRemote)) {
      memory.copy(outRemote, r + R_REMOTE, ADDR_SIZE);
      index.unlink(i);
      slab.free(i);
      return true;
    }
    i = index.next(i);
  }
  return false;
}

export function remoteInfoCount(): u32 {
  return slab.live;
}

export function remoteInfoFree(): void {
  slab.release();
  index.release();
}

export function remoteInfoCheck(): i32 {
  if (index.count != slab.live) return 1;
  if (index.reachable() != slab.live) return 2;
  return 0;
}
