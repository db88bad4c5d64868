// Who has joined a netlink multicast group, from the text of /proc/net/netlink (one line per
// netlink socket of the reader's network namespace: sk, Eth (protocol), Pid (port), Groups (the
// first 32 groups as a hex bitmask), …). A multicast from user space succeeds whether or not
// anyone listens, so this table is the only way to know in advance that nobody will answer.

const REQUIRED = ["Eth", "Pid", "Groups"] as const;

/**
 * Whether a socket of `protocol` other than port `ownPort` has joined any group of `groupMask`;
 * undefined when the text is not the table this parser knows. Kernel sockets (port 0) are left
 * out: the kernel never answers a port mapper's requests.
 */
export function groupHasMember(table: string, protocol: number, ownPort: number, groupMask: number): boolean | undefined {
  const [header, ...rows] = table.split("\n");
  const names = (header ?? "").trim().split(/\s+/);
  const [eth, pid, groups] = REQUIRED.map((name) => names.indexOf(name));
  if (eth === undefined || pid === undefined || groups === undefined || eth < 0 || pid < 0 || groups < 0) return undefined;
  for (const row of rows) {
    const cols = row.trim().split(/\s+/);
    if (cols.length < names.length) continue;
    if (Number(cols[eth]) !== protocol) continue;
    const port = Number(cols[pid]);
    if (port === 0 || port === ownPort >>> 0) continue;
    const joined = Number.parseInt(cols[groups] ?? "", 16);
    if (Number.isNaN(joined)) return undefined;
    if ((joined & groupMask) !== 0) return true;
  }
  return false;
}
