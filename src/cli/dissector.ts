// iwpm dissector: writes a Wireshark Lua dissector for iwpm, built from the protocol description
// (src/gen/protocol.ts, generated from build/protocol.mjs), so the dissector and the core cannot
// drift apart: the same ops, IWPM_NLA_* names, kinds, size rules and status codes.

import {
  ATTRS,
  type AttrSpec,
  DIR_TO_CLIENT,
  DIR_TO_DAEMON,
  KIND_RULES,
  NETLINK_RDMA,
  NLA_HDRLEN,
  NLA_TYPE_MASK,
  NLM_FLAGS,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_FLAGS_AT,
  NLMSG_HDRLEN,
  NLMSG_LEN_AT,
  NLMSG_MIN_TYPE,
  NLMSG_PID_AT,
  NLMSG_SEQ_AT,
  NLMSG_TYPE_AT,
  OP_ADD_MAPPING,
  OP_HANDLE_ERR,
  OP_HELLO,
  OP_KERNEL_NAMES,
  OP_MAPINFO,
  OP_MAPINFO_NUM,
  OP_NAMES,
  OP_QUERY_MAPPING,
  OP_REG_PID,
  PEER,
  ROLES,
  STATUS,
  Status,
  TYPE_CLIENT_MASK,
  TYPE_CLIENT_SHIFT,
  TYPE_OP_MASK,
} from "../gen/protocol.js";
import { type CliIO, type Command, EXIT, parseCommandArgs, write } from "./command.js";

const help = `Usage: iwpm dissector [options] > iwpm.lua

Writes a Wireshark dissector (Lua) for iwpm: netlink messages of family RDMA
(20) in LINKTYPE_NETLINK captures, and iwpmd's UDP peer protocol (port 3935).
Every op and attribute carries its kernel name (RDMA_NL_IWPM_*, IWPM_NLA_*),
addresses show as IPv4/IPv6 and port, requests link to their replies by
sequence number, and error codes and malformed messages raise expert info.

  tshark -X lua_script:iwpm.lua -r FILE -V
  tshark -X lua_script:iwpm.lua -2 -r FILE -Y 'iwpm.op == 2'

Or copy iwpm.lua to ~/.local/lib/wireshark/plugins/. Requests show the frame
of their reply only when the capture is read twice (tshark -2, or Wireshark).
Preferences: iwpm.side (which socket a netlink capture was taken on;
inferred by default) and iwpm_peer.udp_port.

Options:
      --udp-port N   the peer protocol's default UDP port (default 3935)
  -h, --help         this text`;

/** A Lua string literal: printable ASCII as is, anything else as decimal byte escapes. */
function lua(text: string): string {
  let out = '"';
  for (const byte of new TextEncoder().encode(text)) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\${byte}`;
  }
  return `${out}"`;
}

/** The filter name of an attribute: IWPM_NLA_MANAGE_ADDR → iwpm.nla.manage_addr. */
export function attrField(kernel: string): string {
  return `iwpm.nla.${kernel.replace(/^IWPM_NLA_/, "").toLowerCase()}`;
}

/** The filter name of a peer field holding an address of `ipVersion`. */
export function peerIpField(name: string, ipVersion: 4 | 6): string {
  return `iwpm_peer.${name}${ipVersion === 6 ? "6" : ""}`;
}

/** Every attribute the description names, once, with the C type it has. */
function kernelAttrs(): Map<string, AttrSpec> {
  const out = new Map<string, AttrSpec>();
  for (const dir of ATTRS) for (const specs of dir) for (const s of specs ?? []) out.set(s.kernel, s);
  return out;
}

function luaTables(): string {
  const lines: string[] = [];
  lines.push(`local OP_NAMES = { ${OP_NAMES.map((n, i) => `[${i}] = ${lua(n)}`).join(", ")} }`);
  lines.push(`local OP_KERNEL = { ${OP_KERNEL_NAMES.map((n, i) => `[${i}] = ${lua(n)}`).join(", ")} }`);
  lines.push(`local ROLES = { ${ROLES.map((r, d) => `[${d}] = { ${r.map((x, i) => `[${i}] = ${lua(x)}`).join(", ")} }`).join(", ")} }`);
  lines.push("-- KINDS[C type] = { min, max (0: none), NUL last }: the receivers' size rules");
  lines.push(
    `local KINDS = { ${Object.entries(KIND_RULES)
      .map(([k, r]) => `[${lua(k)}] = { min = ${r.min}, max = ${r.max}, nul = ${r.nul} }`)
      .join(", ")} }`,
  );
  lines.push("-- ATTRS[dir][op][id] = { kernel name, C type, v4 only, carries an error code }");
  lines.push("local ATTRS = {");
  ATTRS.forEach((ops, dir) => {
    lines.push(`  [${dir}] = {`);
    ops.forEach((specs, op) => {
      if (specs === null) return;
      const rows = specs.map(
        (s) => `[${s.id}] = { kernel = ${lua(s.kernel)}, ctype = ${lua(s.ctype)}, v4only = ${s.v4only}, error = ${s.error} }`,
      );
      lines.push(`    [${op}] = { ${rows.join(", ")} },`);
    });
    lines.push("  },");
  });
  lines.push("}");
  lines.push("-- STATUS[code] = { name, hint }: the core's status codes, IWPM_* error codes among them");
  lines.push("local STATUS = {");
  for (const [code, s] of Object.entries(STATUS)) lines.push(`  [${code}] = { ${lua(s.name)}, ${lua(s.hint)} },`);
  lines.push("}");
  lines.push(
    `local ST = { ${Object.entries(Status)
      .map(([name, code]) => `${name} = ${code}`)
      .join(", ")} }`,
  );
  return lines.join("\n");
}

function attrFields(): { decls: string; list: string } {
  const decls: string[] = [];
  const names: string[] = [];
  for (const [kernel, spec] of kernelAttrs()) {
    const abbr = attrField(kernel);
    const v = `fa[${lua(kernel)}]`;
    let decl: string;
    if (spec.ctype === "u32") decl = `ProtoField.uint32(${lua(abbr)}, ${lua(kernel)}, base.DEC)`;
    else if (spec.ctype === "u16" && spec.error) decl = `ProtoField.uint16(${lua(abbr)}, ${lua(kernel)}, base.DEC, STATUS_NAMES)`;
    else if (spec.ctype === "u16") decl = `ProtoField.uint16(${lua(abbr)}, ${lua(kernel)}, base.DEC)`;
    else decl = `ProtoField.string(${lua(abbr)}, ${lua(kernel)})`;
    decls.push(`${v} = ${decl}`);
    names.push(v);
  }
  return { decls: decls.join("\n"), list: names.join(", ") };
}

function peerFields(): { decls: string; list: string; dissect: string } {
  const decls: string[] = [];
  const names: string[] = [];
  const dissect: string[] = [];
  for (const f of PEER.fields) {
    const note = "note" in f ? ` (${f.note})` : "";
    if (f.kind === "magic") {
      decls.push(`fp.version = ProtoField.uint8("iwpm_peer.version", "Protocol version", base.DEC, nil, 0xc0)`);
      decls.push(`fp.type = ProtoField.uint8("iwpm_peer.type", "Type", base.DEC, PEER_TYPES, 0x30)`);
      decls.push(`fp.ipver = ProtoField.uint8("iwpm_peer.ipver", "IP version", base.DEC, nil, 0x0f)`);
      names.push("fp.version", "fp.type", "fp.ipver");
      dissect.push(
        `  t:add(fp.version, tvb(${f.offset}, 1))`,
        `  t:add(fp.type, tvb(${f.offset}, 1))`,
        `  t:add(fp.ipver, tvb(${f.offset}, 1))`,
      );
    } else if (f.kind === "uint") {
      const bits = f.size * 8;
      decls.push(`fp.${f.name} = ProtoField.uint${bits}("iwpm_peer.${f.name}", ${lua(f.name + note)}, base.DEC)`);
      names.push(`fp.${f.name}`);
      dissect.push(`  t:add(fp.${f.name}, tvb(${f.offset}, ${f.size}))`);
    } else if (f.kind === "handle") {
      decls.push(`fp.${f.name} = ProtoField.uint64("iwpm_peer.${f.name}", ${lua(f.name)}, base.HEX)`);
      names.push(`fp.${f.name}`);
      dissect.push(`  t:add(fp.${f.name}, tvb(${f.offset}, ${f.size}))`);
    } else {
      decls.push(`fp.${f.name} = ProtoField.ipv4(${lua(peerIpField(f.name, 4))}, ${lua(f.name + note)})`);
      decls.push(`fp.${f.name}6 = ProtoField.ipv6(${lua(peerIpField(f.name, 6))}, ${lua(f.name + note)})`);
      names.push(`fp.${f.name}`, `fp.${f.name}6`);
      // For IPv4 only the first 4 bytes count; iwpmd leaves garbage in the other 12.
      const add = [
        `  if ipver == 4 then t:add(fp.${f.name}, tvb(${f.offset}, 4))`,
        `  elseif ipver == 6 then t:add(fp.${f.name}6, tvb(${f.offset}, 16)) end`,
      ];
      if (f.requestOnly) dissect.push(`  if ptype == 0 and tvb:len() >= ${f.offset + f.size} then`, ...add.map((l) => `  ${l}`), "  end");
      else dissect.push(...add);
    }
  }
  return { decls: decls.join("\n"), list: names.join(", "), dissect: dissect.join("\n") };
}

/** The Lua dissector text. */
export function dissectorLua(udpPort: number = PEER.port): string {
  const attrs = attrFields();
  const peer = peerFields();
  const flagFields = NLM_FLAGS.map(
    ([bit, name]) =>
      `fh.flag_${name.toLowerCase()} = ProtoField.bool("iwpm.flags.${name.toLowerCase()}", ${lua(`NLM_F_${name}`)}, 16, nil, ${bit})`,
  );
  return `-- Wireshark dissector for the iWARP port mapper protocol (iwpm), generated by \`iwpm dissector\`
-- from the iwpm protocol description. Do not edit: regenerate it.
--
--   tshark -X lua_script:iwpm.lua -r FILE -V
--   tshark -X lua_script:iwpm.lua -2 -r FILE -Y 'iwpm.op == 2'
--
-- Netlink family RDMA (${NETLINK_RDMA}) messages in LINKTYPE_NETLINK captures, and iwpmd's UDP peer protocol.

local iwpm = Proto("iwpm", "iWARP Port Mapper")
local peer = Proto("iwpm_peer", "iWARP Port Mapper peer (iwpmd UDP)")

local NLMSG_HDRLEN = ${NLMSG_HDRLEN}
-- struct nlmsghdr field offsets
local H_LEN, H_TYPE, H_FLAGS, H_SEQ, H_PID = ${NLMSG_LEN_AT}, ${NLMSG_TYPE_AT}, ${NLMSG_FLAGS_AT}, ${NLMSG_SEQ_AT}, ${NLMSG_PID_AT}
-- struct nlmsgerr: the int error, then the offending header
local NLMSGERR_ERROR_SIZE = 4
local NLA_HDRLEN = ${NLA_HDRLEN}
local NLA_TYPE_MASK = ${NLA_TYPE_MASK}
local NLMSG_MIN_TYPE = ${NLMSG_MIN_TYPE}
local NLMSG_ERROR = ${NLMSG_ERROR}
local NLMSG_DONE = ${NLMSG_DONE}
local TYPE_CLIENT_SHIFT = ${TYPE_CLIENT_SHIFT}
local TYPE_CLIENT_MASK = ${TYPE_CLIENT_MASK}
local TYPE_OP_MASK = ${TYPE_OP_MASK}
local TO_DAEMON = ${DIR_TO_DAEMON}
local TO_CLIENT = ${DIR_TO_CLIENT}
local OP_HELLO = ${OP_HELLO}
local OP_REG_PID = ${OP_REG_PID}
local OP_HANDLE_ERR = ${OP_HANDLE_ERR}
local OP_MAPINFO = ${OP_MAPINFO}
-- The Linux cooked header before each netlink datagram: packet type 0 = received, 4 = sent.
local PKTTYPE_HOST = 0
local PKTTYPE_OUTGOING = 4
local AF_INET = 2
local AF_INET6 = 10
local SOCKADDR_SIZE = 128

${luaTables()}

local STATUS_NAMES = {}
for code, s in pairs(STATUS) do STATUS_NAMES[code] = s[1] end
local PEER_TYPES = { ${PEER.types.map((t, i) => `[${i}] = ${lua(t)}`).join(", ")} }
-- Ops whose reply carries the request's header seq in attribute 1 (protocol reference §2.1).
local ANSWERED = { [${OP_REG_PID}] = true, [${OP_ADD_MAPPING}] = true, [${OP_QUERY_MAPPING}] = true, [${OP_MAPINFO_NUM}] = true }

-- netlink header and message fields
local fh = {}
fh.len = ProtoField.uint32("iwpm.len", "nlmsg_len", base.DEC)
fh.type = ProtoField.uint16("iwpm.type", "nlmsg_type", base.HEX)
fh.client = ProtoField.uint16("iwpm.client", "Client index", base.DEC, nil, 0xfc00)
fh.op = ProtoField.uint16("iwpm.op", "Op", base.DEC, OP_KERNEL, 0x03ff)
fh.flags = ProtoField.uint16("iwpm.flags", "nlmsg_flags", base.HEX)
${flagFields.join("\n")}
fh.seq = ProtoField.uint32("iwpm.seq", "nlmsg_seq", base.DEC)
fh.pid = ProtoField.uint32("iwpm.pid", "nlmsg_pid", base.DEC)
fh.direction = ProtoField.uint8("iwpm.direction", "Direction", base.DEC, { [TO_DAEMON] = "client to daemon", [TO_CLIENT] = "daemon to client" })
fh.version = ProtoField.uint8("iwpm.version", "ABI version of the layout", base.DEC)
fh.label = ProtoField.string("iwpm.label", "Message")
fh.attr = ProtoField.bytes("iwpm.attr", "Attribute")
fh.attr_len = ProtoField.uint16("iwpm.attr.len", "nla_len", base.DEC)
fh.attr_type = ProtoField.uint16("iwpm.attr.type", "nla_type", base.HEX)
fh.attr_id = ProtoField.uint16("iwpm.attr.id", "Attribute id", base.DEC, nil, NLA_TYPE_MASK)
fh.unknown = ProtoField.bytes("iwpm.unknown", "Unknown attribute payload")
fh.family = ProtoField.uint16("iwpm.addr.family", "ss_family", base.DEC, { [AF_INET] = "AF_INET", [AF_INET6] = "AF_INET6" })
fh.port = ProtoField.uint16("iwpm.addr.port", "Port", base.DEC)
fh.ipv4 = ProtoField.ipv4("iwpm.addr.ipv4", "IPv4 address")
fh.ipv6 = ProtoField.ipv6("iwpm.addr.ipv6", "IPv6 address")
fh.flowinfo = ProtoField.uint32("iwpm.addr.flowinfo", "sin6_flowinfo", base.HEX)
fh.scope = ProtoField.uint32("iwpm.addr.scope_id", "sin6_scope_id", base.DEC)
fh.control_value = ProtoField.int32("iwpm.control.value", "NLMSG_DONE status / NLMSG_ERROR error", base.DEC)
fh.orig_type = ProtoField.uint16("iwpm.control.orig_type", "Offending nlmsg_type", base.HEX)
fh.orig_seq = ProtoField.uint32("iwpm.control.orig_seq", "Offending nlmsg_seq", base.DEC)
fh.status = ProtoField.string("iwpm.status", "Why a receiver drops it")
fh.response_in = ProtoField.framenum("iwpm.response_in", "Reply in frame", base.NONE, frametype.RESPONSE)
fh.response_to = ProtoField.framenum("iwpm.response_to", "Reply to the request in frame", base.NONE, frametype.REQUEST)
fh.error_for = ProtoField.framenum("iwpm.error_for", "Error for the request in frame", base.NONE, frametype.REQUEST)
fh.response_time = ProtoField.relative_time("iwpm.response_time", "Response time")

local fa = {}
${attrs.decls}

iwpm.fields = { fh.len, fh.type, fh.client, fh.op, fh.flags, ${NLM_FLAGS.map(([, n]) => `fh.flag_${n.toLowerCase()}`).join(", ")}, fh.seq, fh.pid,
  fh.direction, fh.version, fh.label, fh.attr, fh.attr_len, fh.attr_type, fh.attr_id, fh.unknown, fh.family, fh.port, fh.ipv4, fh.ipv6,
  fh.flowinfo, fh.scope, fh.control_value, fh.orig_type, fh.orig_seq, fh.status, fh.response_in, fh.response_to, fh.error_for,
  fh.response_time, ${attrs.list} }

local ex = {
  error_code = ProtoExpert.new("iwpm.expert.error_code", "IWPM error code", expert.group.RESPONSE_CODE, expert.severity.WARN),
  nlmsg_error = ProtoExpert.new("iwpm.expert.nlmsg_error", "NLMSG_ERROR", expert.group.RESPONSE_CODE, expert.severity.WARN),
  malformed = ProtoExpert.new("iwpm.expert.malformed", "Malformed iwpm message", expert.group.MALFORMED, expert.severity.ERROR),
}
iwpm.experts = { ex.error_code, ex.nlmsg_error, ex.malformed }

-- The socket a netlink capture was taken on (-o iwpm.side:client): it decides which way a message went.
iwpm.prefs.side = Pref.enum("Capturing socket (auto, client or daemon)", 0, "auto: inferred from the messages", {
  { 1, "auto", 0 }, { 2, "client", 1 }, { 3, "daemon", 2 },
}, false)

-- The cooked header before each netlink datagram says whether the capturing socket sent or
-- received it; the netlink dissector keeps it to itself, so a wrapper reads it per frame first.
local pkttypes = {}
local cooked = Proto("iwpm_cooked", "iwpm: Linux netlink cooked header")
local encaps = DissectorTable.get("wtap_encap")
local netlink = encaps:get_dissector(wtap_encaps.NETLINK)
function cooked.dissector(tvb, pinfo, tree)
  if tvb:len() >= 2 then pkttypes[pinfo.number] = tvb(0, 2):uint() end
  return netlink:call(tvb, pinfo, tree)
end
encaps:add(wtap_encaps.NETLINK, cooked)

-- State across frames; Wireshark dissects frames again (tshark -2, clicks in the GUI), so what is
-- learned is kept by frame number and only recorded on the first visit.
-- tracked: the ABI version the two sides were last seen to use (HELLO, REG_PID replies, MAPINFO
-- requests, an NLMSG_ERROR refusing HELLO), whose layouts are tried first.
local votes, weak, requests, replies, dirs, tracked
function iwpm.init()
  tracked = 4
  votes = { client = 0, daemon = 0 }
  weak = { client = 0, daemon = 0 }
  requests = {}
  replies = {}
  dirs = {}
end

local function status_text(code)
  local s = STATUS[code]
  if s == nil then return "status " .. code end
  return s[1]
end

--- The layout of (dir, op) in ABI \`version\`: attribute specs by id, and the highest id.
local function layout(dir, op, version)
  local specs = ATTRS[dir][op]
  if specs == nil then return nil, 0 end
  local max = 0
  for id, s in pairs(specs) do
    if (version > 3 or not s.v4only) and id > max then max = id end
  end
  return specs, max
end

--- One walk, as the core's: frames each attribute, checks every occurrence of a known id against
--- its kind, requires every id up to the layout's maximum. Returns status, attribute, offset, and
--- how many attributes the layout does not know.
local function walk(t, dir, op, version)
  local specs, max = layout(dir, op, version)
  if specs == nil then return ST.UNKNOWN_OP, 0, 0, 0 end
  local len = t:len()
  local present = {}
  local unknown = 0
  local off = NLMSG_HDRLEN
  while len - off >= NLA_HDRLEN do
    local nla_len = t(off, 2):le_uint()
    local id = bit.band(t(off + 2, 2):le_uint(), NLA_TYPE_MASK)
    if nla_len < NLA_HDRLEN or nla_len > len - off then return ST.BAD_ATTR_LEN, id, off, unknown end
    local spec = specs[id]
    if spec ~= nil and id <= max then
      local k = KINDS[spec.ctype]
      local n = nla_len - NLA_HDRLEN
      if n < k.min or (k.max ~= 0 and n > k.max) then return ST.ATTR_SIZE, id, off, unknown end
      if k.nul and t(off + nla_len - 1, 1):uint() ~= 0 then return ST.STRING_UNTERMINATED, id, off, unknown end
      present[id] = true
    else
      unknown = unknown + 1
    end
    off = off + bit.band(nla_len + 3, bit.bnot(3))
  end
  for id = 1, max do
    if not present[id] then return ST.MISSING_ATTR, id, len, unknown end
  end
  return ST.OK, 0, 0, unknown
end

--- The ABI version whose layout the message fits, or nil: the version the two sides were last
--- seen to use first, then the other; a v3 fit that leaves over an attribute v4 knows is v4.
local function fits(t, dir, op)
  local other = (tracked == 4) and 3 or 4
  local status, _, _, unknown = walk(t, dir, op, tracked)
  if status == ST.OK then
    if tracked == 3 and unknown > 0 then
      local s4, _, _, u4 = walk(t, dir, op, 4)
      if s4 == ST.OK and u4 == 0 then return 4 end
    end
    return tracked
  end
  if walk(t, dir, op, other) == ST.OK then return other end
  return nil
end

local function side()
  if iwpm.prefs.side == 1 then return "client" end
  if iwpm.prefs.side == 2 then return "daemon" end
  local v = (votes.client + votes.daemon > 0) and votes or weak
  if v.daemon > v.client then return "daemon" end
  if v.client > 0 then return "client" end
  return nil
end

--- Which way a message went, as iwpm decode decides it: from the capturing side and the packet
--- direction once the side is known (a request of the capturing client that came back to it
--- decodes the other way round); before that, from its layout when only one direction fits, else
--- from what its form tells (iwpmd's first HELLO has seq 0; the kernel sends with port id 0).
--- Messages that fit one direction only vote for the side.
local function direction(t, op, captured, seq, pid, first)
  local d, c = fits(t, TO_DAEMON, op), fits(t, TO_CLIENT, op)
  local function vote(dir, box)
    if first and captured ~= nil then
      if (captured == "out") == (dir == TO_DAEMON) then box.client = box.client + 1 else box.daemon = box.daemon + 1 end
    end
  end
  if d and not c then vote(TO_DAEMON, votes) elseif c and not d then vote(TO_CLIENT, votes) end
  local s = side()
  if s ~= nil and captured ~= nil then
    local dir = ((captured == "out") == (s == "client")) and TO_DAEMON or TO_CLIENT
    local v = (dir == TO_DAEMON) and d or c
    local back = (dir == TO_DAEMON) and c or d
    if v == nil and back ~= nil and captured == "in" then return 1 - dir, back, true end
    return dir, v
  end
  if d and not c then return TO_DAEMON, d end
  if c and not d then return TO_CLIENT, c end
  local dir
  if op == OP_HELLO and seq == 0 then dir = TO_CLIENT elseif pid == 0 then dir = TO_DAEMON else dir = TO_CLIENT end
  if d or c then vote(dir, weak) end
  return dir, (dir == TO_DAEMON) and d or c
end

local function sockaddr_text(r)
  local family = r(0, 2):le_uint()
  local port = r(2, 2):uint()
  if family == AF_INET then return tostring(r(4, 4):ipv4()) .. ":" .. port end
  if family == AF_INET6 then
    local addr = tostring(r(8, 16):ipv6())
    local scope = r(24, 4):le_uint()
    -- A scope id means something for link-local addresses only.
    local suffix = (scope ~= 0 and addr:lower():match("^fe[89ab]")) and ("%" .. scope) or ""
    return "[" .. addr .. suffix .. "]:" .. port
  end
  return "family " .. family
end

local function add_sockaddr(tree, field, r)
  local item = tree:add(field, r, sockaddr_text(r))
  local family = r(0, 2):le_uint()
  item:add_le(fh.family, r(0, 2))
  item:add(fh.port, r(2, 2))
  if family == AF_INET then
    item:add(fh.ipv4, r(4, 4))
  elseif family == AF_INET6 then
    item:add(fh.flowinfo, r(4, 4))
    item:add(fh.ipv6, r(8, 16))
    item:add_le(fh.scope, r(24, 4))
  end
end

local function add_attribute(tree, t, off, spec, id, nla_len, nla_type)
  local r = t(off, nla_len)
  local name = spec and spec.kernel or ("unknown attribute " .. id)
  local item = tree:add(fh.attr, r):set_text(name .. " (id " .. id .. ", nla_len " .. nla_len .. ")")
  item:add_le(fh.attr_len, t(off, 2))
  item:add_le(fh.attr_type, t(off + 2, 2))
  item:add_le(fh.attr_id, t(off + 2, 2))
  local n = nla_len - NLA_HDRLEN
  local p = (n > 0) and t(off + NLA_HDRLEN, n) or nil
  -- Unknown, or too short for its kind (the message's status says so): the bytes as they are.
  if spec == nil or n < KINDS[spec.ctype].min then
    if p ~= nil then item:add(fh.unknown, p) end
    return item, nil
  end
  local f = fa[spec.kernel]
  if spec.ctype == "u32" then
    item:add_le(f, p(0, 4))
    return item, p(0, 4):le_uint()
  elseif spec.ctype == "u16" then
    item:add_le(f, p(0, 2))
    return item, p(0, 2):le_uint()
  elseif spec.ctype == "sockaddr" then
    add_sockaddr(item, f, p(0, SOCKADDR_SIZE))
    return item, nil
  end
  -- A name up to its first NUL (a malformed one may have none).
  local text = p:raw()
  local nul = text:find("\0", 1, true)
  item:add(f, p, nul and text:sub(1, nul - 1) or text)
  return item, nil
end

local function header(tree, t)
  tree:add_le(fh.len, t(H_LEN, 4))
  local ty = tree:add_le(fh.type, t(H_TYPE, 2))
  local flags = tree:add_le(fh.flags, t(H_FLAGS, 2))
  ${NLM_FLAGS.map(([, n]) => `flags:add_le(fh.flag_${n.toLowerCase()}, t(H_FLAGS, 2))`).join("\n  ")}
  tree:add_le(fh.seq, t(H_SEQ, 4))
  tree:add_le(fh.pid, t(H_PID, 4))
  return ty
end

local function control(tree, t, ty)
  local len = t:len()
  if ty == NLMSG_DONE then
    if len >= NLMSG_HDRLEN + NLMSGERR_ERROR_SIZE then tree:add_le(fh.control_value, t(NLMSG_HDRLEN, 4)) end
    return "NLMSG_DONE"
  end
  if ty == NLMSG_ERROR then
    local orig = NLMSG_HDRLEN + NLMSGERR_ERROR_SIZE
    if len < orig + NLMSG_HDRLEN then
      tree:add_proto_expert_info(ex.malformed, "BAD_CONTROL: " .. STATUS[ST.BAD_CONTROL][2])
      return "NLMSG_ERROR (invalid)"
    end
    local item = tree:add_le(fh.control_value, t(NLMSG_HDRLEN, 4))
    tree:add_le(fh.orig_type, t(orig + H_TYPE, 2))
    tree:add_le(fh.orig_seq, t(orig + H_SEQ, 4))
    local err = t(NLMSG_HDRLEN, 4):le_int()
    if err ~= 0 then item:add_proto_expert_info(ex.nlmsg_error, "NLMSG_ERROR " .. err .. ": the kernel refused a message") end
    return "NLMSG_ERROR"
  end
  return "control type " .. ty
end

local function link(tree, pinfo, dir, op, seq, first_attr)
  local frame = pinfo.number
  if dir == TO_DAEMON and ANSWERED[op] then
    if not pinfo.visited then requests[seq] = { frame = frame, op = op, time = pinfo.rel_ts } end
    local reply = replies[frame]
    if reply ~= nil then tree:add(fh.response_in, reply) end
  elseif dir == TO_CLIENT and first_attr ~= nil and (ANSWERED[op] or op == OP_HANDLE_ERR) then
    local req = requests[first_attr]
    if req ~= nil and req.frame < frame and (op == OP_HANDLE_ERR or req.op == op) then
      if not pinfo.visited and op ~= OP_HANDLE_ERR then replies[req.frame] = frame end
      tree:add(op == OP_HANDLE_ERR and fh.error_for or fh.response_to, req.frame)
      local dt = pinfo.rel_ts - req.time
      local secs = math.floor(dt)
      tree:add(fh.response_time, NSTime(secs, math.floor((dt - secs) * 1e9 + 0.5))):set_generated()
    end
  end
end

local function message(t, pinfo, tree, captured, index)
  local ty = t(H_TYPE, 2):le_uint()
  local seq = t(H_SEQ, 4):le_uint()
  local pid = t(H_PID, 4):le_uint()
  local sub = tree:add(iwpm, t())
  local ty_item = header(sub, t)
  local key = pinfo.number .. ":" .. index
  if ty < NLMSG_MIN_TYPE then
    local label = control(sub, t, ty)
    sub:add(fh.label, label):set_generated()
    sub:set_text("iwpm " .. label)
    if dirs[key] == nil then
      dirs[key] = {}
      -- iwpmd reads an NLMSG_ERROR with seq 0 as "HELLO refused" and falls back to ABI v3.
      local s = side()
      local to_daemon = (s ~= nil and captured ~= nil) and ((captured == "out") == (s == "client")) or pid == 0
      if ty == NLMSG_ERROR and seq == 0 and to_daemon and t:len() >= NLMSG_HDRLEN * 2 + NLMSGERR_ERROR_SIZE then tracked = 3 end
    end
    return label
  end
  ty_item:add_le(fh.client, t(H_TYPE, 2))
  ty_item:add_le(fh.op, t(H_TYPE, 2))
  local op = bit.band(ty, TYPE_OP_MASK)
  local decided = dirs[key]
  local first = decided == nil
  if first then
    local tried = tracked
    local d, v, echo = direction(t, op, captured, seq, pid, not pinfo.visited)
    decided = { dir = d, version = v, tried = tried, echo = echo }
    dirs[key] = decided
  end
  local dir, version = decided.dir, decided.version
  sub:add(fh.direction, dir):set_generated()
  local name = OP_NAMES[op] or ("OP_" .. op)
  local role = ROLES[dir][op] or ""
  local label = (role == "") and name or (name .. " " .. role)
  local status, err_attr, err_off = ST.OK, 0, 0
  if version ~= nil then
    sub:add(fh.version, version):set_generated()
  else
    version = decided.tried
    status, err_attr, err_off = walk(t, dir, op, version)
    label = (ATTRS[dir][op] ~= nil) and (label .. " (invalid)") or (name .. " (unknown op)")
  end
  sub:add(fh.label, label):set_generated()
  sub:set_text("iwpm " .. label .. ", client " .. bit.band(bit.rshift(ty, TYPE_CLIENT_SHIFT), TYPE_CLIENT_MASK) .. ", seq " .. seq)
  local specs, max = layout(dir, op, version)
  local len = t:len()
  local off = NLMSG_HDRLEN
  local values = {}
  while len - off >= NLA_HDRLEN do
    local nla_len = t(off, 2):le_uint()
    local nla_type = t(off + 2, 2):le_uint()
    if nla_len < NLA_HDRLEN or nla_len > len - off then break end
    local id = bit.band(nla_type, NLA_TYPE_MASK)
    local spec = (specs ~= nil and id <= max) and specs[id] or nil
    local item, value = add_attribute(sub, t, off, spec, id, nla_len, nla_type)
    if spec ~= nil then values[id] = value end
    if spec ~= nil and spec.error and value ~= nil and value ~= 0 then
      local s = STATUS[value]
      item:add_proto_expert_info(ex.error_code, status_text(value) .. " (" .. value .. ")" .. (s and (": " .. s[2]) or ""))
    end
    off = off + bit.band(nla_len + 3, bit.bnot(3))
  end
  if first and status == ST.OK and not decided.echo then
    -- The version the two sides use follows HELLO, REG_PID replies and MAPINFO requests.
    local offered
    if op == OP_HELLO then offered = values[1]
    elseif dir == TO_CLIENT and op == OP_REG_PID then offered = values[4]
    elseif dir == TO_CLIENT and op == OP_MAPINFO then offered = values[2] end
    if offered ~= nil then
      if offered >= 3 then tracked = math.min(offered, 4) end
    else
      tracked = version
    end
  end
  if status ~= ST.OK then
    local what = (err_attr ~= 0) and (" attribute " .. ((specs and specs[err_attr] and specs[err_attr].kernel) or err_attr) .. " at offset " .. err_off) or ""
    sub:add(fh.status, status_text(status)):set_generated()
    sub:add_proto_expert_info(ex.malformed, status_text(status) .. what .. ": " .. STATUS[status][2])
  else
    link(sub, pinfo, dir, op, seq, values[1])
  end
  return label
end

function iwpm.dissector(tvb, pinfo, tree)
  pinfo.cols.protocol = "iwpm"
  local pkttype = pkttypes[pinfo.number]
  local captured = (pkttype == PKTTYPE_OUTGOING) and "out" or ((pkttype == PKTTYPE_HOST) and "in" or nil)
  local labels = {}
  local off = 0
  local index = 0
  while off < tvb:len() do
    local rest = tvb:len() - off
    local len = (rest >= NLMSG_HDRLEN) and tvb(off + H_LEN, 4):le_uint() or 0
    if rest < NLMSG_HDRLEN or len < NLMSG_HDRLEN or len > rest then
      local code = (rest < NLMSG_HDRLEN) and ST.TRUNCATED_HEADER or ST.BAD_MSG_LEN
      local item = tree:add(iwpm, tvb(off, rest)):set_text("iwpm: " .. status_text(code))
      item:add(fh.status, status_text(code)):set_generated()
      item:add_proto_expert_info(ex.malformed, status_text(code) .. " at offset " .. off .. ": " .. STATUS[code][2])
      labels[#labels + 1] = status_text(code)
      break
    end
    labels[#labels + 1] = message(tvb(off, len):tvb(), pinfo, tree, captured, index)
    index = index + 1
    off = off + bit.band(len + 3, bit.bnot(3))
  end
  pinfo.cols.info = table.concat(labels, ", ")
  return tvb:len()
end

DissectorTable.get("netlink.protocol"):add(${NETLINK_RDMA}, iwpm)

-- iwpmd's peer protocol (protocol reference §5.4): big-endian fields at fixed offsets.
local fp = {}
${peer.decls}
fp.problem = ProtoField.string("iwpm_peer.problem", "Why iwpmd drops it")
peer.fields = { ${peer.list}, fp.problem }
local ex_peer = ProtoExpert.new("iwpm_peer.expert.malformed", "Malformed iwpm peer message", expert.group.MALFORMED, expert.severity.ERROR)
peer.experts = { ex_peer }
peer.prefs.udp_port = Pref.uint("UDP port", ${udpPort}, "The UDP port iwpmd's peers talk on")

function peer.dissector(tvb, pinfo, tree)
  if tvb:len() < ${PEER.replySize} then return 0 end
  pinfo.cols.protocol = "iwpm peer"
  local magic = tvb(0, 1):uint()
  local ptype = bit.band(bit.rshift(magic, 4), 3)
  local ipver = bit.band(magic, 0x0f)
  local t = tree:add(peer, tvb())
  t:set_text("iwpm peer " .. PEER_TYPES[ptype])
${peer.dissect}
  local expected = (ptype == 0) and ${PEER.requestSize} or ${PEER.replySize}
  local problems = {}
  if tvb:len() ~= expected then problems[#problems + 1] = "length " .. tvb:len() .. ", iwpmd expects " .. expected end
  if ipver ~= 4 and ipver ~= 6 then problems[#problems + 1] = "IP version " .. ipver end
  if #problems > 0 then
    local text = table.concat(problems, "; ")
    t:add(fp.problem, text):set_generated()
    t:add_proto_expert_info(ex_peer, text)
  end
  pinfo.cols.info = "iwpm peer " .. PEER_TYPES[ptype]
  return tvb:len()
end

local registered_port = peer.prefs.udp_port
DissectorTable.get("udp.port"):add(registered_port, peer)
function peer.prefs_changed()
  if peer.prefs.udp_port ~= registered_port then
    DissectorTable.get("udp.port"):remove(registered_port, peer)
    registered_port = peer.prefs.udp_port
    DissectorTable.get("udp.port"):add(registered_port, peer)
  end
end
`;
}

async function run(args: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs(args, { "udp-port": { type: "string" } });
  if (values.help) {
    io.stdout.write(`${help}\n`);
    return EXIT.OK;
  }
  let port: number = PEER.port;
  if (values["udp-port"] !== undefined) {
    port = Number(values["udp-port"]);
    if (!Number.isInteger(port) || port < 1 || port > 0xffff) {
      io.stderr.write(`iwpm dissector: --udp-port "${values["udp-port"]}" is not a port (1..65535)\n`);
      return EXIT.USAGE;
    }
  }
  await write(io.stdout, dissectorLua(port));
  return EXIT.OK;
}

export const command: Command = { name: "dissector", summary: "a Wireshark Lua dissector for iwpm (iwpm dissector > iwpm.lua)", help, run };
export default command;
