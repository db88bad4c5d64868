// Node glue for captures: a pcap file on disk, a socket wrapper that records into it, and a
// PortMapperClient that records its traffic.
//
//   const client = await openCapturingPortMapperClient({ port, capture: "/tmp/iwpm.pcap" });
//
// or, around any DatagramSocket (the one a PortMapperTransport carries, for instance):
//
//   const file = captureToFile("/tmp/iwpm.pcap");
//   const tapped = file.tap(socket);          // a DatagramSocket: use it where `socket` was
//   ...
//   file.close();
//
// Records are buffered and written on the next turn of the event loop (or at 64 KiB), and
// synchronously at close() and at process exit, so a capture survives an ordinary exit.

import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import type { PortMapperClient } from "../api/client.js";
import type { NetlinkSocket } from "../host/shim.js";
import { type OpenPortMapperClientOptions, openPortMapperClient } from "../node.js";
import { CaptureFormatError, LINKTYPE_NETLINK, NetlinkPcapWriter } from "./pcap.js";
import { pcapRecorder, tapSocket } from "./tap.js";

export interface CaptureFileOptions {
  /** Nanosecond timestamps (default: microseconds, what most tools expect). */
  nanosecond?: boolean;
  /**
   * Append to an existing capture (it must be a little-endian LINKTYPE_NETLINK pcap; its
   * timestamp resolution is kept). Default: the file is truncated.
   */
  append?: boolean;
  /** Buffered bytes that trigger a write at once (default 65536). */
  flushBytes?: number;
  /** Told about a write that failed (the capture then stops; traffic is unaffected). */
  onError?: (err: unknown) => void;
}

const open = new Set<CaptureFile>();
let exitHook = false;

function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.on("exit", () => {
    for (const f of open) f.close();
  });
}

/** Reads the header of an existing capture to append to; undefined when the file is empty. */
function existingHeader(fd: number, path: string): { nanosecond: boolean } | undefined {
  if (fstatSync(fd).size === 0) return undefined;
  const head = Buffer.alloc(24);
  if (readSync(fd, head, 0, 24, 0) < 24) throw new CaptureFormatError(`${path}: too short for a pcap header; cannot append`);
  const magic = head.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new CaptureFormatError(`${path}: not a little-endian pcap file; cannot append`);
  const linkType = head.readUInt32LE(20) & 0x0fffffff;
  if (linkType !== LINKTYPE_NETLINK) throw new CaptureFormatError(`${path}: link type ${linkType}, not netlink (253); cannot append`);
  return { nanosecond: magic === 0xa1b23c4d };
}

/** A LINKTYPE_NETLINK pcap file being written. */
export class CaptureFile {
  readonly writer: NetlinkPcapWriter;
  private fd: number | undefined;
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private scheduled: ReturnType<typeof setImmediate> | undefined;
  private readonly flushBytes: number;

  constructor(
    readonly path: string,
    private readonly opts: CaptureFileOptions = {},
  ) {
    this.flushBytes = opts.flushBytes ?? 65536;
    let headerWritten = false;
    let nanosecond = opts.nanosecond ?? false;
    if (opts.append) {
      this.fd = openSync(path, "a+");
      try {
        const found = existingHeader(this.fd, path);
        if (found !== undefined) {
          headerWritten = true;
          nanosecond = found.nanosecond;
        }
      } catch (err) {
        closeSync(this.fd);
        throw err;
      }
    } else {
      this.fd = openSync(path, "w");
    }
    this.writer = new NetlinkPcapWriter((b) => this.sink(b), { nanosecond, headerWritten });
    open.add(this);
    installExitHook();
    // The header reaches the disk at once: an empty capture is still a valid file.
    this.flush();
  }

  /** Wraps a socket so every datagram it sends and receives is recorded here. */
  tap(socket: NetlinkSocket): NetlinkSocket {
    return tapSocket(socket, { record: pcapRecorder(this.writer), onError: this.opts.onError });
  }

  /** Records written so far. */
  get packets(): number {
    return this.writer.pcap.packets;
  }

  /** Writes what is buffered, synchronously. */
  flush(): void {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.fd === undefined || this.buffered === 0) return;
    const all = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    try {
      for (let at = 0; at < all.length; ) at += writeSync(this.fd, all, at, all.length - at);
    } catch (err) {
      // A full disk or a closed fd ends the capture, never the traffic.
      this.closeFd();
      this.opts.onError?.(err);
    }
  }

  /** Flushes and closes the file. Idempotent. */
  close(): void {
    this.flush();
    this.closeFd();
  }

  private closeFd(): void {
    open.delete(this);
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    closeSync(fd);
  }

  private sink(bytes: Uint8Array): void {
    if (this.fd === undefined) return;
    this.chunks.push(bytes);
    this.buffered += bytes.length;
    if (this.buffered >= this.flushBytes) this.flush();
    else this.scheduled ??= setImmediate(() => this.flush());
  }
}

/** Opens (creates or truncates, or appends to) a netlink capture file. */
export function captureToFile(path: string, opts: CaptureFileOptions = {}): CaptureFile {
  return new CaptureFile(path, opts);
}

// ---- a PortMapperClient that records -------------------------------------------------------

export interface CapturingClientOptions extends OpenPortMapperClientOptions {
  /**
   * A pcap file to record every datagram the client sends and receives in (created or
   * truncated), or an open CaptureFile (shared by several clients, closed by its owner).
   * Without it this is openPortMapperClient.
   */
  capture?: string | CaptureFile;
  /** Options of a capture file opened from a path. */
  captureOptions?: CaptureFileOptions;
}

/**
 * openPortMapperClient with a capture: the same netlink socket and client, with a CaptureTap
 * between the core and the socket. Closing the client closes a capture file opened here.
 */
export async function openCapturingPortMapperClient(options: CapturingClientOptions = {}): Promise<PortMapperClient> {
  const { capture, captureOptions, ...rest } = options;
  if (capture === undefined) return openPortMapperClient(rest);
  const owned = typeof capture === "string";
  let client: PortMapperClient | undefined;
  const file = owned ? captureToFile(capture, { onError: (err) => client?.handleHostError(err), ...captureOptions }) : capture;
  try {
    client = await openPortMapperClient({
      ...rest,
      wrapSocket: (socket) => ({ socket: file.tap(socket), close: () => owned && file.close() }),
    });
  } catch (err) {
    if (owned) file.close();
    throw err;
  }
  return client;
}
