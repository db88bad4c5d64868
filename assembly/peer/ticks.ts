import { nowNs } from "../lib/clock";
import { IWPM_REMOTE_QUERY_REJECT } from "../status";
import { NIL } from "../tables/slab";
import { countDrop, DROP_PEER_TIMEOUT, emitQueryDone } from "../service/events";
import { mappingFindSameLocal, mappingLocal, mappingMapped, mappingOwner } from "../service/mappings";
import { sendConnInfo } from "../service/send";
import { ON_FAIL_EVENT_ERRNO } from "../service/state";
import {
  exchangeBudget,
  exchangeClient,
  exchangeComplete,
  exchangeCount,
  exchangeDest,
  exchangeFd,
  exchangeFirst,
  exchangeMsg,
  exchangeMsgLen,
  exchangeNlPid,
  exchangeNlSeq,
  exchangeNlType,
  exchangeOlder,
  exchangeRemote,
  exchangeRemove,
  exchangeSetTimeout,
  exchangeSrc,
  exchangeTimeout,
  exchangeType,
  X_ACK,
  X_QUERY,
} from "./exchanges";
import { udpSend } from "./udp";

// iwpmd's timer thread (reference §5.4): once a second every entry loses a
// tick, an unanswered REQUEST or ACCEPT is re-sent on every tick after its
// first, and an entry out of ticks is dropped. The thread runs its first pass
// as soon as an entry arrives in an empty list; here that pass runs inline
// and later passes when the host calls tick. Unlike iwpmd, a QUERY out of
// ticks is answered (IWPM_REMOTE_QUERY_REJECT, the remote unmapped, as a
// peer's REJECT is), so the client hears a typed answer before its timeout.

const TICK_NS: u64 = 1_000_000_000;
let ticking = false;
let dueNs: u64 = 0;

/** The peer never answered: the client's QUERY gets the rejection a REJECT would bring. */
function queryTimedOut(i: u32): void {
  countDrop(DROP_PEER_TIMEOUT);
  const remote = exchangeRemote(i);
  const m = mappingFindSameLocal(exchangeSrc(i));
  if (m == NIL) {
    // The client removed the mapping meanwhile: nothing to answer for.
    emitQueryDone(exchangeClient(i), IWPM_REMOTE_QUERY_REJECT, exchangeNlSeq(i), exchangeNlPid(i), 0, exchangeSrc(i), remote, exchangeSrc(i), remote);
    return;
  }
  const errno = sendConnInfo(
    mappingOwner(m),
    exchangeNlType(i),
    exchangeNlSeq(i),
    exchangeNlPid(i),
    mappingLocal(m),
    remote,
    mappingMapped(m),
    remote,
    IWPM_REMOTE_QUERY_REJECT,
    ON_FAIL_EVENT_ERRNO,
    0,
  );
  emitQueryDone(exchangeClient(i), IWPM_REMOTE_QUERY_REJECT, exchangeNlSeq(i), exchangeNlPid(i), errno, mappingLocal(m), remote, mappingMapped(m), remote);
}

function pass(): void {
  let i = exchangeFirst();
  while (i != NIL) {
    const older = exchangeOlder(i);
    const t = exchangeTimeout(i);
    if (t > 0) {
      if (t < exchangeBudget(exchangeType(i)) && exchangeType(i) != X_ACK && exchangeMsgLen(i) != 0) {
        udpSend(exchangeFd(i), exchangeMsg(i), exchangeMsgLen(i), exchangeDest(i));
      }
      exchangeSetTimeout(i, t - 1);
    } else {
      if (exchangeType(i) == X_QUERY && !exchangeComplete(i)) queryTimedOut(i);
      exchangeRemove(i);
    }
    i = older;
  }
}

/** Call after adding an entry: starts the passes when the list was idle. */
export function ticksArm(): void {
  if (ticking) return;
  ticking = true;
  pass();
  dueNs = nowNs() + TICK_NS;
}

/** Runs the pass that is due, if any; 1 when one ran. */
export function ticksRun(): u32 {
  if (!ticking) return 0;
  const now = nowNs();
  if (now < dueNs) return 0;
  pass();
  if (exchangeCount() == 0) ticking = false;
  else dueNs = now - dueNs >= TICK_NS ? now + TICK_NS : dueNs + TICK_NS;
  return 1;
}

/** Milliseconds until the next pass (0 when due), or -1 with nothing in flight. */
export function ticksNextMs(): i32 {
  if (!ticking) return -1;
  const now = nowNs();
  if (now >= dueNs) return 0;
  return <i32>((dueNs - now + 999_999) / 1_000_000);
}

export function ticksStop(): void {
  ticking = false;
}
