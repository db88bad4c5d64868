// The package's browser entry: the core and the capture replay tools, no sockets. Load the core
// from iwpm.wasm (shipped next to this bundle) with `instantiateCore(await fetch(url)…)` or hand
// its bytes to `loadDecoderCore` for decoding captures; decoding and replaying the peers' UDP
// exchanges also needs the daemon core, iwpmd.wasm, handed to `loadDaemonCore`.

export { type AddressInput, formatAddress, parseAddress } from "./api/address.js";
export { CaptureReader, type CaptureRecord, NetlinkPcapWriter } from "./capture/pcap.js";
export { CaptureTap } from "./capture/tap.js";
export { CORE_ABI_VERSION, Core, type CoreExports, instantiateCore, type MapinfoRecord } from "./core/core.js";
export { IwpmError, type IwpmErrorCode } from "./core/errors.js";
export type { CoreEvent } from "./core/events.js";
export type { SockAddr } from "./core/sockaddr.js";
export { type Clock, createShim, type Datagram, type DatagramSocket, type Shim, SocketMap } from "./host/shim.js";
export { CaptureDecoder, type CaptureMessage, decodeRecords, loadDecoderCore } from "./replay/decode.js";
export { fields, summary, toJson } from "./replay/format.js";
export { loadDaemonCore } from "./replay/peer-engine.js";
export { StateBuilder } from "./replay/state.js";
