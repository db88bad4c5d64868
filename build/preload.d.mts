/** Source file of the iwpmd LD_PRELOAD library, relative to the repository root. */
export declare const PRELOAD_SOURCE: string;
/** Built library, relative to the repository root. */
export declare const PRELOAD_LIBRARY: string;
/** Compiles the library unless it is newer than its source; resolves its absolute path. */
export declare function buildPreload(): Promise<string>;
