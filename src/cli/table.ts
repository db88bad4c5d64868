// Plain-text tables for terminal output.

export function renderTable(headers: string[], rows: string[][], indent = "  "): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    indent +
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  const out = [line(headers), line(widths.map((w) => "-".repeat(w)))];
  if (rows.length === 0) out.push(`${indent}(empty)`);
  else out.push(...rows.map(line));
  return out.join("\n");
}
