// Aligned text tables and the statistics the harnesses print (medians over rounds, percentiles).

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return `${(a / b).toFixed(2)}×`;
}

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  align?: 'left' | 'right';
}

/** A plain-text table; `markdown` adds the pipes and the header rule. */
export function table<T>(rows: T[], cols: Column<T>[], opts: { markdown?: boolean } = {}): string {
  const cells = rows.map((r) => cols.map((c) => c.value(r)));
  const widths = cols.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const pad = (s: string, i: number) => (cols[i]!.align === 'right' ? s.padStart(widths[i]!) : s.padEnd(widths[i]!));
  if (opts.markdown) {
    const line = (vals: string[]) => `| ${vals.map(pad).join(' | ')} |`;
    const rule = `|${cols.map((c, i) => (c.align === 'right' ? `${'-'.repeat(widths[i]! + 1)}:` : `${'-'.repeat(widths[i]! + 2)}`)).join('|')}|`;
    return [line(cols.map((c) => c.header)), rule, ...cells.map(line)].join('\n');
  }
  const line = (vals: string[]) => vals.map(pad).join('  ').trimEnd();
  return [line(cols.map((c) => c.header)), ...cells.map(line)].join('\n');
}

/** Writes `line()` to stderr every `everyMs` until stopped: progress for the long phases of a harness. */
export function ticker(everyMs: number, line: () => string): { stop(): void } {
  const t = setInterval(() => process.stderr.write(`${line()}\n`), everyMs);
  t.unref();
  return { stop: () => clearInterval(t) };
}

/** "1 min 05 s" / "42 s": durations a reader takes in at a glance. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}
