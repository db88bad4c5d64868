import type { Core, CoreExports } from "../core/core.js";

// The core's service exports (assembly/index.ts, docs/abi.md "Service").

export interface ServiceExports {
  serviceConfigure(fd: number, port: number, clientPort: number): void;
  serviceSetUdpSocket(slot: number, fd: number): void;
  serviceSetPeerPort(port: number): void;
  serviceSetExchangeLimit(n: number): void;
  serviceSetAssocHandle(hi: number, lo: number): void;
  serviceStart(): number;
  servicePoll(): number;
  serviceRxPtr(): number;
  serviceRxCap(): number;
  serviceHandleRx(len: number, port: number): void;
  serviceSetTrust(mode: number, uid: number): number;
  serviceTick(): number;
  serviceNextTimeoutMs(): number;
  serviceStop(): number;
  serviceVersion(): number;
  serviceLastErrno(): number;
  serviceClientValid(nlClient: number): number;
  serviceNextSeq(nlClient: number): number;
  serviceMapinfoAcked(nlClient: number): number;
  serviceExchangeCount(): number;
  serviceMappingCount(): number;
  serviceMappingFirst(): number;
  serviceMappingNext(i: number): number;
  serviceOutPtr(): number;
  serviceMappingRead(i: number): void;
  serviceMappingVerify(): number;
  serviceSetMappingLimits(total: number, perPort: number): void;
  serviceSetQueryTicks(n: number): void;
  serviceDropReasons(): number;
  serviceDropCount(reason: number): number;
  serviceMappingCountOf(port: number): number;
}

export function serviceExports(core: Core): CoreExports & ServiceExports {
  return core.exports as unknown as CoreExports & ServiceExports;
}
