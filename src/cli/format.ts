/**
 * Readable output of the query commands: `key  value` lines and tables, and
 * amounts with thousands separators (`1,000,000`).
 * @module
 */

/** `1000000` → `1,000,000`; anything not an integer is returned as is. */
export function amount(v: unknown): string {
  const s = typeof v === 'bigint' || typeof v === 'number' ? v.toString() : String(v ?? '');
  if (!/^-?[0-9]+$/.test(s)) return s;
  const neg = s.startsWith('-');
  const digits = neg ? s.slice(1) : s;
  return (neg ? '-' : '') + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A millisecond timestamp as ISO time (UTC). */
export function time(ms: unknown): string {
  return typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms ?? '');
}

/** Aligned `key  value` lines. */
export function keyValues(rows: readonly (readonly [string, unknown])[]): string {
  const width = Math.max(0, ...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v === undefined || v === null ? '-' : String(v)}`).join('\n') + '\n';
}

/** A table: a header row and aligned columns (right-aligned where `right` says). */
export function table(header: readonly string[], rows: readonly (readonly unknown[])[], right: readonly number[] = []): string {
  const cells = [header.map(String), ...rows.map((r) => r.map((c) => (c === undefined || c === null ? '-' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r.map((c, i) => (right.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return cells.map(line).join('\n') + '\n';
}
