// The status table is generated from build/protocol.mjs (docs/abi.md).
export * from "./gen/status";
