import { buildConnInfo, buildDaemonHello, buildHandleErr, buildMapinfoRequest } from "../iwpm/daemon-messages";
import { RDMA_NL_IWCM } from "../iwpm/constants";
import { NIL } from "../tables/slab";
import { svcBuf, svcClientPort, svcPort, svcSend, svcVersion, takeClientSeq } from "./state";

// The messages the service sends on its own initiative or on behalf of
// another exchange. Each takes the next header seq of its client index when
// it is built (whether or not the send then succeeds), as iwpmd does, and
// returns the send's WASI errno (0 when queued in a pass: `onFail` and `event` then say how a
// late failure is reported, state.ts ON_FAIL_*).

/** HANDLE_ERR to the notified port (iwpmd: the kernel). */
export function sendHandleErr(client: u32, errSeq: u32, code: u32, onFail: u32, event: u32): u32 {
  return svcSend(buildHandleErr(svcBuf(), client, takeClientSeq(client), svcPort, errSeq, code), svcClientPort, onFail, event, NIL);
}

/** QUERY reply (to the request's pid) or REMOTE_INFO (type (owner << 10) | 4, seq 0, to the notified port). */
export function sendConnInfo(
  owner: u32,
  type: u16,
  reqSeq: u32,
  to: u32,
  local: usize,
  remote: usize,
  mappedLocal: usize,
  mappedRemote: usize,
  err: u32,
  onFail: u32,
  event: u32,
): u32 {
  const len = buildConnInfo(svcBuf(), type, takeClientSeq(owner), svcPort, reqSeq, local, remote, mappedLocal, mappedRemote, err);
  return svcSend(len, to, onFail, event, NIL);
}

/** The start-up HELLO for index 2 (reference §4.8). */
export function sendHello(): u32 {
  return svcSend(buildDaemonHello(svcBuf(), RDMA_NL_IWCM, takeClientSeq(RDMA_NL_IWCM), svcPort, svcVersion), svcClientPort);
}

/** A MAPINFO request: "send me the mappings you use". */
export function sendMapinfoRequest(client: u32): u32 {
  return svcSend(buildMapinfoRequest(svcBuf(), client, takeClientSeq(client), svcPort, svcVersion), svcClientPort);
}

