// sd_notify for `iwpm serve -s`: state lines ("READY=1", "STATUS=…", "STOPPING=1") sent as one
// datagram each to the AF_UNIX socket systemd names in NOTIFY_SOCKET (a path, or "@name" in the
// abstract namespace). Node has no AF_UNIX datagram sockets, so the sender is injected: the native
// module's unixSend (0 or -errno), or a fake in tests. Portable.

/** Sends one datagram to an AF_UNIX datagram socket; 0 or a negative errno. */
export type UnixSender = (path: string, data: Uint8Array) => number;

/** STATUS= is one line: a newline would start another assignment. */
const oneLine = (text: string) => text.replace(/[\r\n]+/g, " ");

export class SystemdNotifier {
  /** The last failed send's errno (negative), 0 when every send went out. */
  lastError = 0;

  constructor(
    /** NOTIFY_SOCKET; undefined when not started by systemd (every call is then a no-op). */
    readonly socket: string | undefined,
    private readonly send: UnixSender,
  ) {}

  /** Whether there is a manager to tell. */
  get enabled(): boolean {
    return this.socket !== undefined;
  }

  /** Start-up is complete: the service answers requests from now on. */
  ready(status: string): number {
    return this.notify(`READY=1\nSTATUS=${oneLine(status)}`);
  }

  status(status: string): number {
    return this.notify(`STATUS=${oneLine(status)}`);
  }

  /** Shutdown has begun. */
  stopping(status: string): number {
    return this.notify(`STOPPING=1\nSTATUS=${oneLine(status)}`);
  }

  private notify(state: string): number {
    if (this.socket === undefined) return 0;
    const r = this.send(this.socket, new TextEncoder().encode(state));
    if (r < 0) this.lastError = r;
    return r;
  }
}

/**
 * The notifier NOTIFY_SOCKET asks for. Like sd_notify, only an absolute path or an abstract
 * name is taken; anything else (unset, empty, relative) gives a notifier that sends nothing.
 */
export function notifierFromEnv(env: Record<string, string | undefined>, send: UnixSender): SystemdNotifier {
  const socket = env.NOTIFY_SOCKET;
  const usable = socket !== undefined && socket.length > 1 && (socket.startsWith("/") || socket.startsWith("@"));
  return new SystemdNotifier(usable ? socket : undefined, send);
}
