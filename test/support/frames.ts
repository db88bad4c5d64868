// Hand-built IP frames for captures in tests.

/** An IPv4 + UDP frame (no checksums: capture readers do not check them) around `payload`. */
export function ipv4Udp(payload: Uint8Array, src = [10, 0, 0, 1], dst = [10, 0, 0, 2], sport = 40001, dport = 3935): Uint8Array {
  const out = new Uint8Array(20 + 8 + payload.length);
  const v = new DataView(out.buffer);
  out[0] = 0x45;
  v.setUint16(2, out.length, false);
  out[8] = 64;
  out[9] = 17;
  out.set(src, 12);
  out.set(dst, 16);
  v.setUint16(20, sport, false);
  v.setUint16(22, dport, false);
  v.setUint16(24, 8 + payload.length, false);
  out.set(payload, 28);
  return out;
}
