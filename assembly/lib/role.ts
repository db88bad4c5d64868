// What each core answers to coreRole(): a host handed the other core's .wasm names the right file
// instead of failing on a missing export.

export const CORE_ROLE_CLIENT: u32 = 1;
export const CORE_ROLE_DAEMON: u32 = 2;
