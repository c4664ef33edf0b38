/** Output for people: aligned tables, short cells, a progress bar. `--json` bypasses all of it. */

export function table(rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[]): string {
  if (rows.length === 0) return '(none)\n';
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n')}\n`;
}

/** A table cell: one line, at most `max` characters. */
function cell(value: unknown, max = 60): string {
  if (value === undefined || value === null) return '-';
  if (Array.isArray(value)) return value.map((v) => cell(v, max)).join(',');
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

/** Key: value lines, for one object, values in full (one line each); nested objects are left out. */
export function details(obj: Record<string, unknown>): string {
  const keys = Object.keys(obj).filter((k) => typeof obj[k] !== 'object' || obj[k] === null);
  const width = Math.max(...keys.map((k) => k.length));
  return `${keys.map((k) => `${`${k}:`.padEnd(width + 1)} ${cell(obj[k], Number.POSITIVE_INFINITY)}`).join('\n')}\n`;
}

export function progressBar(done: number, total: number, width = 30): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}
