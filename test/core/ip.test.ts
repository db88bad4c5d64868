import { describe, expect, it } from "vitest";
import { formatIPv6, parseIPv4, parseIPv6 } from "../../src/core/ip.js";

describe("IP address text", () => {
  it("parses dotted IPv4 and refuses anything else", () => {
    for (const ok of ["0.0.0.0", "255.255.255.255", "10.0.0.1", "1.2.3.4"]) {
      expect(Array.from(parseIPv4(ok) ?? [])).toEqual(ok.split(".").map(Number));
    }
    for (const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.2.3.4",
      "1..2.3",
      "1.2.3.4.",
      ".1.2.3",
      "a.b.c.d",
      "1.2.3.4 ",
      "1234.1.1.1",
      "00.1.1.1",
    ]) {
      expect(parseIPv4(bad), bad).toBeNull();
    }
  });

  it("parses IPv6 forms and prints them as RFC 5952 does", () => {
    for (const [text, canonical] of [
      ["::1", "::1"],
      ["fd00:77:0:0:0:0:0:1", "fd00:77::1"],
      ["::ffff:10.0.0.1", "::ffff:10.0.0.1"],
      ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
      ["FE80::1", "fe80::1"],
    ]) {
      const bytes = parseIPv6(text as string);
      expect(bytes, text).not.toBeNull();
      expect(formatIPv6(bytes as Uint8Array)).toBe(canonical);
    }
    for (const bad of ["", ":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "g::1"]) expect(parseIPv6(bad), bad).toBeNull();
  });
});
