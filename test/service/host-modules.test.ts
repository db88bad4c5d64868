import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readCapture } from "../../src/capture/pcap.js";
import { Errno } from "../../src/core/errno.js";
import type { Datagram, DatagramSocket, PeerAddress, UdpDatagram, UdpSocket } from "../../src/host/shim.js";
import { decodeRecords, loadDecoderCore } from "../../src/replay/decode.js";
import { loadDaemonCore } from "../../src/replay/peer-engine.js";
import { openServiceCapture } from "../../src/service/capture.js";
import { parseConfig, SettingError } from "../../src/service/config.js";
import { createLogger, syslogLine, syslogSink } from "../../src/service/log.js";
import { openPortMapperService } from "../../src/service/node.js";
import { notifierFromEnv } from "../../src/service/notify.js";
import { BoundPortReserver, type TcpBinder } from "../../src/service/ports.js";
import { coreModule, daemonCoreModule } from "../support/core.js";

// The service host's small parts with fakes in place of the native module: settings, sd_notify,
// syslog, bind-only port reservations and the capture file.

/** A fake AF_UNIX datagram sender: keeps what it was given, fails with `errno` when set. */
function fakeSender(errno = 0) {
  const sent: { path: string; text: string }[] = [];
  return {
    sent,
    send: (p: string, data: Uint8Array) => {
      if (errno !== 0) return -errno;
      sent.push({ path: p, text: new TextDecoder().decode(data) });
      return 0;
    },
  };
}

describe("settings file", () => {
  it("reads iwpmd's key and ours, with iwpmd's comments and spacing", () => {
    const text =
      "# iwpmd.conf\n\nnl_sock_rbuf_size=419430400\nudp_port = 4000\nmax_mappings_per_port= 10\nquery_ticks =3\nprotocol = 2\nlog_level = debug\n";
    expect(parseConfig(text, "t.conf")).toEqual({
      recvBufferSize: 419430400,
      udpPort: 4000,
      maxMappingsPerPort: 10,
      queryTicks: 3,
      protocol: 2,
      logLevel: "debug",
    });
  });

  const bad: [string, RegExp][] = [
    ["nl_sock_rbuf = 1", /t\.conf:1: unknown setting "nl_sock_rbuf"; known: nl_sock_rbuf_size,/],
    ["udp_port = 99999", /t\.conf:1: udp_port "99999" is not a UDP port of 1\.\.65535/],
    ["udp_port = -1", /udp_port "-1" is not a UDP port/],
    ["nl_sock_rbuf_size = 0", /nl_sock_rbuf_size "0" is not a receive buffer size in bytes of 1\.\./],
    ["query_ticks = 11", /query_ticks "11" is not seconds a peer query waits of 1\.\.10/],
    ["max_mappings = 1e3", /max_mappings "1e3" is not a number of mappings/],
    ["protocol = 16", /protocol "16" is not 2 \(NETLINK_USERSOCK\), 20 \(NETLINK_RDMA\) or auto/],
    ["log_level = loud", /log_level "loud" is not a log level/],
    ["just words", /t\.conf:1: "just words" is not a setting \(name = value\)/],
    ["udp_port = 1\nudp_port = 2", /t\.conf:2: "udp_port" is set again \(first at line 1\)/],
  ];
  for (const [text, message] of bad) {
    it(`refuses ${JSON.stringify(text)} with one line naming the place`, () => {
      let caught: unknown;
      try {
        parseConfig(text, "t.conf");
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(SettingError);
      expect((caught as SettingError).code).toBe("INVALID_SETTING");
      expect((caught as Error).message).toMatch(message);
      expect((caught as Error).message).not.toContain("\n");
    });
  }
});

describe("sd_notify", () => {
  it("sends READY=1, STATUS= and STOPPING=1 as datagrams to NOTIFY_SOCKET, abstract names included", () => {
    for (const socket of ["/run/systemd/notify", "@/org/freedesktop/systemd1/notify/1"]) {
      const f = fakeSender();
      const n = notifierFromEnv({ NOTIFY_SOCKET: socket }, f.send);
      expect(n.enabled).toBe(true);
      n.ready("serving\non port 5");
      n.status("busy");
      n.stopping("SIGTERM");
      expect(f.sent).toEqual([
        { path: socket, text: "READY=1\nSTATUS=serving on port 5" },
        { path: socket, text: "STATUS=busy" },
        { path: socket, text: "STOPPING=1\nSTATUS=SIGTERM" },
      ]);
    }
  });

  it("sends nothing without a usable NOTIFY_SOCKET, and keeps a failed send's errno", () => {
    for (const env of [{}, { NOTIFY_SOCKET: "" }, { NOTIFY_SOCKET: "relative/path" }, { NOTIFY_SOCKET: "@" }]) {
      const f = fakeSender();
      const n = notifierFromEnv(env, f.send);
      expect(n.enabled).toBe(false);
      expect(n.ready("x")).toBe(0);
      expect(f.sent).toEqual([]);
    }
    const n = notifierFromEnv({ NOTIFY_SOCKET: "/nowhere" }, fakeSender(111).send);
    expect(n.ready("x")).toBe(-111);
    expect(n.lastError).toBe(-111);
  });
});

describe("log", () => {
  it("formats syslog lines as glibc's syslog(3) does on /dev/log, facility daemon", () => {
    const at = new Date(2026, 10, 9, 8, 7, 6);
    expect(syslogLine("warning", "hello", "iwpm", 42, at)).toBe("<28>Nov  9 08:07:06 iwpm[42]: hello");
    expect(syslogLine("debug", "x", "iwpm", 1, at)).toMatch(/^<31>/);
    expect(syslogLine("error", "x", "iwpm", 1, at)).toMatch(/^<27>/);
  });

  it("passes lines at its level or more severe to syslog, and falls back to the stream when syslog refuses", () => {
    const f = fakeSender();
    const fallback: string[] = [];
    const log = createLogger("notice", syslogSink({ send: f.send, pid: 7, fallback: (l, m) => fallback.push(`${l}: ${m}`) }));
    log.log("info", "hidden");
    log.log("notice", "shown");
    log.log("error", "bad");
    expect(f.sent.map((s) => s.text.replace(/^<(\d+)>.{15} /, "<$1> "))).toEqual(["<29> iwpm[7]: shown", "<27> iwpm[7]: bad"]);
    expect(f.sent[0]?.path).toBe("/dev/log");
    expect(fallback).toEqual([]);

    const refused: string[] = [];
    const down = createLogger("info", syslogSink({ send: fakeSender(2).send, pid: 7, fallback: (l, m) => refused.push(`${l}: ${m}`) }));
    down.log("info", "one");
    down.log("info", "two");
    expect(refused).toEqual(["warning: syslog at /dev/log refused a line (errno 2); logging here from now on", "info: one", "info: two"]);
  });
});

describe("bind-only port reservations", () => {
  /** A fake of the native module's two calls: hands out ports from 40000, refuses taken ones with Linux EADDRINUSE. */
  function fakeBinder() {
    const open = new Map<number, number>();
    let fd = 100;
    let next = 40000;
    const binder: TcpBinder = {
      tcpReserve(_family, port) {
        const p = port === 0 ? next++ : port;
        if ([...open.values()].includes(p)) return { errno: 98, syscall: "bind" };
        open.set(++fd, p);
        return { fd, port: p };
      },
      fdClose(f) {
        return open.delete(f) ? 0 : -9;
      },
    };
    return { binder, open };
  }

  it("holds a port per handle, refuses a taken one with the core's EADDRINUSE, and closes what it opened", () => {
    const { binder, open } = fakeBinder();
    const r = new BoundPortReserver(binder);
    const a = r.reserve(2, 0);
    expect(a).toEqual({ errno: Errno.SUCCESS, handle: 1, port: 40000 });
    expect(r.reserve(10, 40000)).toEqual({ errno: Errno.EADDRINUSE });
    expect(r.reserve(1, 0)).toEqual({ errno: Errno.EAFNOSUPPORT });
    expect(r.reserve(2, 70000)).toEqual({ errno: Errno.EINVAL });
    r.reserve(10, 0);
    expect(open.size).toBe(2);
    expect(r.close(a.handle as number)).toBe(Errno.SUCCESS);
    expect(r.close(a.handle as number)).toBe(Errno.EBADF);
    r.closeAll();
    expect(open.size).toBe(0);
    expect(r.size).toBe(0);
  });
});

describe("--capture file", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "iwpm-svc-cap-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("records netlink and peer datagrams in one pcapng that the decoder reads, both ways", async () => {
    const file = path.join(dir, "svc.pcapng");
    const errors: unknown[] = [];
    let t = 1_700_000_000_000_000_000n;
    const cap = openServiceCapture(
      file,
      (e) => errors.push(e),
      () => (t += 1_000_000n),
    );
    const inbox: Datagram[] = [];
    const netlink: DatagramSocket = { sendTo: () => 0, recvFrom: () => inbox.shift() ?? null };
    const udpInbox: UdpDatagram[] = [];
    const udp: UdpSocket = { sendTo: () => 0, recvFrom: () => udpInbox.shift() ?? null };
    const nl = cap.tapNetlink(netlink) as DatagramSocket;
    const peer = cap.tapUdp(udp, { family: 4, port: 3935 });
    // A HELLO{4} (client index 2, seq 0) the service sends, and a 48-byte REJECT a peer sends.
    const hello = new Uint8Array([24, 0, 0, 0, 8, 8, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 6, 0, 1, 0, 4, 0, 0, 0]);
    nl.sendTo(hello, 0, 0);
    const from: PeerAddress = { family: 2, address: new Uint8Array([10, 0, 0, 2, ...new Array(12).fill(0)]), port: 3935, scopeId: 0 };
    const reject = new Uint8Array(48);
    reject[0] = 0x04 | (3 << 4);
    udpInbox.push({ bytes: reject, from });
    expect(peer.recvFrom()).not.toBeNull();
    peer.sendTo(reject, from);
    cap.close();
    expect(errors).toEqual([]);

    const bytes = new Uint8Array(readFileSync(file));
    const { records, summary } = readCapture(bytes);
    expect(summary.format).toBe("pcapng");
    expect(records.map((r) => r.linkType)).toEqual([253, 101, 101]);
    // The daemon core reads the peer messages.
    await loadDaemonCore(daemonCoreModule());
    const decoded = decodeRecords(await loadDecoderCore(coreModule()), records);
    expect(decoded.messages.map((m) => m.proto)).toEqual(["netlink", "peer", "peer"]);
    expect(decoded.stats.side).toBe("daemon");
  });
});

describe("openPortMapperService's numeric options", () => {
  for (const [options, message] of [
    [{ udpPort: 99999 }, /udpPort "99999" is not a UDP port of 1\.\.65535/],
    [{ queryTicks: 0 }, /queryTicks "0" is not seconds a peer query waits of 1\.\.10/],
    [{ maxMappings: 1.5 }, /maxMappings "1\.5" is not a number of mappings/],
    [{ clientPort: -1 }, /clientPort "-1" is not a netlink port id/],
  ] as const) {
    it(`refuses ${JSON.stringify(options)} before opening anything`, async () => {
      await expect(openPortMapperService(options)).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
        message: expect.stringMatching(message),
      });
    });
  }
});
