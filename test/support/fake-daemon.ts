import type { SockAddr } from "../../src/core/sockaddr.js";
import { attrAddr, attrStr, attrU16, attrU32, nlmsg, rdma } from "./nl.js";

// A scripted port mapper for unit tests of the core: builds the messages
// iwpmd sends a client (reference §2.2), with iwpmd's per-index header
// sequence counter and its pid as the header port.

export const ULIB = "iWarpPortMapperUser";

export class FakeDaemon {
  private counter = 0;
  constructor(
    readonly port = 1234,
    readonly nlClient = 2,
  ) {}

  private header(op: number, seq?: number) {
    return { type: rdma(this.nlClient, op), seq: seq ?? this.counter++, pid: this.port };
  }

  hello(version = 4, seq?: number): Uint8Array {
    return nlmsg(this.header(8, seq), [attrU16(1, version)]);
  }
  mapinfoRequest(version = 4, seq?: number, ulib = ULIB): Uint8Array {
    return nlmsg(this.header(6, seq), [attrStr(1, ulib), attrU16(2, version)]);
  }
  regPidReply(reqSeq: number, devName: string, o: { version?: number; ulib?: string; seq?: number } = {}): Uint8Array {
    return nlmsg(this.header(0, o.seq), [
      attrU32(1, reqSeq),
      attrStr(2, devName),
      attrStr(3, o.ulib ?? ULIB),
      attrU16(4, o.version ?? 4),
      attrU16(5, 0),
    ]);
  }
  addReply(reqSeq: number, local: SockAddr, mapped: SockAddr, seq?: number): Uint8Array {
    return nlmsg(this.header(1, seq), [attrU32(1, reqSeq), attrAddr(2, local), attrAddr(3, mapped), attrU16(4, 0)]);
  }
  queryReply(reqSeq: number, a: { local: SockAddr; remote: SockAddr; mappedLocal: SockAddr; mappedRemote: SockAddr }, err = 0): Uint8Array {
    return nlmsg(this.header(2), [
      attrU32(1, reqSeq),
      attrAddr(2, a.local),
      attrAddr(3, a.remote),
      attrAddr(4, a.mappedLocal),
      attrAddr(5, a.mappedRemote),
      attrU16(6, err),
    ]);
  }
  remoteInfo(a: { local: SockAddr; remote: SockAddr; mappedLocal: SockAddr; mappedRemote: SockAddr }): Uint8Array {
    return nlmsg(this.header(4), [
      attrU32(1, 0),
      attrAddr(2, a.local),
      attrAddr(3, a.remote),
      attrAddr(4, a.mappedLocal),
      attrAddr(5, a.mappedRemote),
      attrU16(6, 0),
    ]);
  }
  handleErr(reqSeq: number, code: number): Uint8Array {
    return nlmsg(this.header(5), [attrU32(1, reqSeq), attrU16(2, code)]);
  }
  mapinfoAck(reqSeq: number, sent: number, acked: number): Uint8Array {
    return nlmsg(this.header(7), [attrU32(1, reqSeq), attrU32(2, sent), attrU32(3, acked)]);
  }
}

export const v4 = (address: string, port: number): SockAddr => ({ family: "ipv4", address, port });
export const v6 = (address: string, port: number): SockAddr => ({ family: "ipv6", address, port });
