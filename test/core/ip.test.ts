import { isIPv4 } from "node:net";
import { describe, expect, it } from "vitest";
import { formatIPv6, parseIPv4, parseIPv4Number, parseIPv6 } from "../../src/core/ip.js";

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

describe("parseIPv4Number", () => {
  /** Node's own validator is the reference: dotted quads of 0..255 without leading zeros. */
  const reference = (text: string): number => (isIPv4(text) ? text.split(".").reduce((n, octet) => n * 256 + Number(octet), 0) : -1);

  it("agrees with Node's isIPv4 on random text of digits, dots and other characters", () => {
    const alphabet = "0123456789.....:x ";
    let seed = 12345;
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 8;
    };
    let accepted = 0;
    const differ: string[] = [];
    for (let k = 0; k < 200_000; k++) {
      let text = "";
      const len = 1 + (next() % 17);
      for (let i = 0; i < len; i++) text += alphabet[next() % alphabet.length];
      const want = reference(text);
      if (want >= 0) accepted++;
      if (parseIPv4Number(text) !== want) differ.push(text);
    }
    expect(differ).toEqual([]);
    // The random text must reach the accepting path too, or the comparison proves little.
    expect(accepted).toBeGreaterThan(100);
  });

  it("agrees with Node's isIPv4 on every octet of every position", () => {
    for (let v = 0; v < 1000; v++) {
      for (const octet of [String(v), `0${v}`, `00${v}`]) {
        for (let at = 0; at < 4; at++) {
          const parts = ["1", "22", "133", "4"];
          parts[at] = octet;
          const text = parts.join(".");
          expect(parseIPv4Number(text), text).toBe(reference(text));
        }
      }
    }
  });

  it("reads only the prefix up to `end`", () => {
    expect(parseIPv4Number("10.0.0.12:80", 9)).toBe(0x0a00000c);
    expect(parseIPv4Number("10.0.0.12:80", 8)).toBe(0x0a000001);
    expect(parseIPv4Number("10.0.0.12:80", 7)).toBe(-1);
    expect(parseIPv4Number("10.0.0.12:80", 10)).toBe(-1);
    expect(parseIPv4Number("10.0.0.12", 0)).toBe(-1);
  });
});
