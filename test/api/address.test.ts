import { describe, expect, it } from "vitest";
import { formatAddress, parseAddress, parseSockAddr, plainPort, plainText, plainTextEnd } from "../../src/api/address.js";
import { IwpmError } from "../../src/core/errors.js";
import { parseIPv4Number } from "../../src/core/ip.js";

function invalid(input: unknown): IwpmError {
  try {
    parseAddress(input as never);
  } catch (err) {
    expect(err).toBeInstanceOf(IwpmError);
    expect((err as IwpmError).code).toBe("INVALID_ARGUMENT");
    expect((err as IwpmError).message).toContain("expected");
    return err as IwpmError;
  }
  throw new Error(`${JSON.stringify(input)} was accepted`);
}

describe("parseAddress", () => {
  it("reads IPv4 text", () => {
    expect(parseAddress("1.2.3.4:5")).toEqual({ family: "ipv4", address: "1.2.3.4", port: 5 });
    expect(parseAddress("0.0.0.0:0")).toEqual({ family: "ipv4", address: "0.0.0.0", port: 0 });
    expect(parseAddress(" 255.255.255.255:65535 ")).toEqual({ family: "ipv4", address: "255.255.255.255", port: 65535 });
  });

  it("reads bracketed IPv6 text and canonicalises it", () => {
    expect(parseAddress("[::1]:5")).toEqual({ family: "ipv6", address: "::1", port: 5 });
    expect(parseAddress("[::]:80")).toEqual({ family: "ipv6", address: "::", port: 80 });
    expect(parseAddress("[2001:DB8:0:0:0:0:0:1]:443")).toEqual({ family: "ipv6", address: "2001:db8::1", port: 443 });
    expect(parseAddress("[::ffff:10.0.0.1]:7")).toEqual({ family: "ipv6", address: "::ffff:10.0.0.1", port: 7 });
  });

  it("reads a numeric scope id", () => {
    expect(parseAddress("[fe80::1%3]:5")).toEqual({ family: "ipv6", address: "fe80::1", port: 5, scopeId: 3 });
    expect(parseAddress("[fe80::1%0]:5")).toEqual({ family: "ipv6", address: "fe80::1", port: 5 });
    expect(parseAddress("[fe80::1%4294967295]:5").scopeId).toBe(4294967295);
  });

  it("reads the object form, inferring the family", () => {
    expect(parseAddress({ address: "10.0.0.1", port: 9 })).toEqual({ family: "ipv4", address: "10.0.0.1", port: 9 });
    expect(parseAddress({ address: "fe80::0001", port: 9, scopeId: 2, flowinfo: 7 })).toEqual({
      family: "ipv6",
      address: "fe80::1",
      port: 9,
      scopeId: 2,
      flowinfo: 7,
    });
    expect(parseAddress({ address: "fe80::1%4", port: 1 })).toEqual({ family: "ipv6", address: "fe80::1", port: 1, scopeId: 4 });
    expect(parseAddress({ address: "::1", port: 1, family: "ipv6" }).family).toBe("ipv6");
    // A SockAddr read back from the core parses to itself.
    const sa = parseAddress("[fe80::1%3]:5");
    expect(parseAddress(sa)).toEqual(sa);
  });

  it("refuses what is not an address, saying what form is expected", () => {
    for (const bad of [
      "",
      "1.2.3.4",
      "1.2.3.4:",
      "1.2.3.4:65536",
      "1.2.3.4:-1",
      "1.2.3.4:0x10",
      "1.2.3:5",
      "1.2.3.256:5",
      "01.2.3.4:5",
      "::1:5",
      "[::1]",
      "[::1]5",
      "[::1:5",
      "[1.2.3.4]:5",
      "[fe80::1%eth0]:5",
      "[fe80::1%]:5",
      "[fe80::1%4294967296]:5",
      "[::g]:5",
      "[1::2::3]:5",
      "localhost:80",
    ]) {
      invalid(bad);
    }
    expect(invalid("1.2.3.4:70000").message).toContain("70000");
    expect(invalid("::1:5").message).toContain("brackets");
  });

  it("refuses bad objects", () => {
    invalid({ address: "1.2.3.4" });
    invalid({ address: "1.2.3.4", port: 1.5 });
    invalid({ address: "1.2.3.4", port: 70000 });
    invalid({ address: 5, port: 1 });
    invalid({ address: "1.2.3.4", port: 1, family: "ipv6" });
    invalid({ address: "::1", port: 1, family: "ipv4" });
    invalid({ address: "::1", port: 1, family: "inet" });
    invalid({ address: "1.2.3.4", port: 1, scopeId: 1 });
    invalid({ address: "1.2.3.4", port: 1, flowinfo: 1 });
    invalid({ address: "::1", port: 1, scopeId: -1 });
    invalid({ address: "fe80::1%3", port: 1, scopeId: 4 });
    invalid(null);
    invalid(42);
  });
});

describe("formatAddress", () => {
  it("writes the text parseAddress reads", () => {
    for (const text of ["1.2.3.4:5", "0.0.0.0:0", "[::1]:5", "[fe80::1%3]:5", "[2001:db8::1]:65535", "[::]:1"]) {
      expect(formatAddress(parseAddress(text))).toBe(text);
    }
  });

  it("leaves out flowinfo, which has no text form", () => {
    expect(formatAddress({ family: "ipv6", address: "::1", port: 2, flowinfo: 9 })).toBe("[::1]:2");
  });
});

/** The plain IPv4 path as the client takes it: address and port, or null when the input is left to parseSockAddr. */
function plain(input: unknown): [number, number] | null {
  const text = plainText(input as never);
  if (text === undefined) return null;
  const end = plainTextEnd(input as never, text);
  const port = plainPort(input as never, text, end);
  const v4 = port < 0 ? -1 : parseIPv4Number(text, end);
  return v4 < 0 ? null : [v4, port];
}

describe("plain IPv4 inputs (the allocation-free path of address arguments)", () => {
  const plains = [
    "1.2.3.4:5",
    "0.0.0.0:0",
    "255.255.255.255:65535",
    "10.0.0.1:00080",
    { address: "192.168.1.20", port: 4791 },
    { address: "127.0.0.1", port: 0, family: "ipv4" as const },
  ];
  const others: unknown[] = [
    " 1.2.3.4:5",
    "1.2.3.4:5 ",
    "1.2.3.4:",
    "1.2.3.4:655360",
    "1.2.3.4:65536",
    "1.2.3.4:5x",
    "1.2.3.04:5",
    "1.2.3:5",
    "1::2:5",
    "[::1]:5",
    "1.2.3.4",
    { address: "1.2.3.4", port: 5, family: "ipv6" },
    { address: "1.2.3.4", port: 5, family: "inet" },
    { address: "1.2.3.4", port: 5, scopeId: 0 },
    { address: "1.2.3.4", port: 5, flowinfo: 0 },
    { address: "1.2.3.4", port: 5.5 },
    { address: "1.2.3.4", port: -1 },
    { address: "1.2.3.4", port: 65536 },
    { address: "1.2.3.4", port: "5" },
    { address: "::1", port: 5 },
    { address: "1.2.3.4%1", port: 5 },
    { address: 16909060, port: 5 },
    null,
    42,
  ];

  it("takes the plain IPv4 forms, agreeing with parseSockAddr on address and port", () => {
    for (const input of plains) {
      const parsed = parseSockAddr(input);
      expect(parsed.v6).toBeNull();
      expect(plain(input), JSON.stringify(input)).toEqual([parsed.v4, parsed.addr.port]);
    }
  });

  it("leaves every other input, valid or not, to parseSockAddr", () => {
    for (const input of others) expect(plain(input), JSON.stringify(input)).toBeNull();
  });
});
