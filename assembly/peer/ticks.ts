import { nowNs } from "../client/state";
import { E_TIMEOUT } from "../status";
import { NIL } from "../tables/slab";
import { emitQueryDone } from "../service/events";
import {
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
  exchangeOlder,
  exchangeRemote,
  exchangeRemove,
  exchangeSetTimeout,
  exchangeSrc,
  exchangeTimeout,
  exchangeType,
  X_ACK,
  X_QUERY,
  X_TICKS,
} from "./exchanges";
import { udpSend } from "./udp";

// iwpmd's timer thread (reference §5.4): once a second every entry loses a
// tick, an unanswered REQUEST or ACCEPT is re-sent on every tick after its
// first, and an entry out of ticks is dropped, with no netlink message. The
// thread runs its first pass as soon as an entry arrives in an empty list;
// here that pass runs inline and later passes when the host calls tick.

const TICK_NS: u64 = 1_000_000_000;
let ticking = false;
let dueNs: u64 = 0;
const NO_ADDR: usize = memory.data(128, 8);

function pass(): void {
  let i = exchangeFirst();
  while (i != NIL) {
    const older = exchangeOlder(i);
    const t = exchangeTimeout(i);
    if (t > 0) {
      if (t < X_TICKS && exchangeType(i) != X_ACK && exchangeMsgLen(i) != 0) {
        udpSend(exchangeFd(i), exchangeMsg(i), exchangeMsgLen(i), exchangeDest(i));
      }
      exchangeSetTimeout(i, t - 1);
    } else {
      if (exchangeType(i) == X_QUERY && !exchangeComplete(i)) {
        // The peer never answered: iwpmd drops the query silently; the host hears of it.
        emitQueryDone(exchangeClient(i), E_TIMEOUT, exchangeNlSeq(i), exchangeNlPid(i), 0, exchangeSrc(i), exchangeRemote(i), NO_ADDR, NO_ADDR);
      }
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
