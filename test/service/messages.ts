import type { SockAddr } from "../../src/core/sockaddr.js";
import { attrAddr, attrFixedStr, attrU16, attrU32, nlmsg, rdma } from "../support/nl.js";

// Client -> daemon messages for service tests, built apart from the core.

export const CLIENT_PORT = 4321;
const ULIB = "iWarpPortMapperUser";

export function regPid(seq: number, dev: string, client = 2): Uint8Array {
  return nlmsg({ type: rdma(client, 0), seq, pid: CLIENT_PORT }, [
    attrU32(1, 0),
    attrFixedStr(2, "lo", 16),
    attrFixedStr(3, dev, 32),
    attrFixedStr(4, ULIB, 32),
  ]);
}
export function addMapping(seq: number, local: SockAddr, flags = 0, pid = CLIENT_PORT): Uint8Array {
  return nlmsg({ type: rdma(2, 1), seq, pid }, [attrU32(1, 0), attrAddr(2, local), attrU32(3, flags)]);
}
export function removeMapping(seq: number, local: SockAddr): Uint8Array {
  return nlmsg({ type: rdma(2, 3), seq, pid: CLIENT_PORT }, [attrU32(1, 0), attrAddr(2, local)]);
}
/** A HELLO as the kernel sends it, offering ABI `version`. */
export function hello(version: number, pid = CLIENT_PORT): Uint8Array {
  return nlmsg({ type: rdma(2, 8), seq: 0, pid }, [attrU16(1, version)]);
}
export function queryMapping(seq: number, local: SockAddr, remote: SockAddr, flags = 0): Uint8Array {
  return nlmsg({ type: rdma(2, 2), seq, pid: CLIENT_PORT }, [attrU32(1, 0), attrAddr(2, local), attrAddr(3, remote), attrU32(4, flags)]);
}
export function mapinfo(local: SockAddr, mapped: SockAddr, flags = 0): Uint8Array {
  return nlmsg({ type: rdma(2, 6), flags: 2, seq: 0, pid: CLIENT_PORT }, [attrAddr(1, local), attrAddr(2, mapped), attrU32(3, flags)]);
}
