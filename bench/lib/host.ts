// What the W4 client (bench/w4-client.mjs) and the core benchmarks take from the project: the
// loader, the import shim and the Node netlink socket, bundled by bench/run.mjs to
// bench/.build/host.mjs (plain .mjs scripts cannot import TypeScript on Node 20).

export { Core, instantiateCore } from "../../src/core/core.js";
export { openNetlinkSocket } from "../../src/host/netlink-node.js";
export { createShim, SocketMap } from "../../src/host/shim.js";
export { dotted, SEED, w4Local } from "./gen.js";

export { stubbedImports, withStubs } from "./stubs.js";
