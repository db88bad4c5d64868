import { fd_write } from "./bindings";

// Diagnostics go to fd 2 through WASI fd_write; the host decides where that lands.
const IOV: usize = memory.data(16, 8);

export function writeDiag(text: string): void {
  const bytes = String.UTF8.encode(text);
  store<u32>(IOV, <u32>changetype<usize>(bytes));
  store<u32>(IOV, <u32>bytes.byteLength, 4);
  fd_write(2, IOV, 1, IOV + 8);
}

/** Replaces the default `env.abort` import so the module imports only what bindings.ts declares. */
export function coreAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  writeDiag(
    "iwpm core abort: " +
      (message !== null ? message : "") +
      " at " +
      (fileName !== null ? fileName : "?") +
      ":" +
      line.toString() +
      ":" +
      column.toString() +
      "\n",
  );
  unreachable();
}
