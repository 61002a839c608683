// Presentation helpers shared by every adapter that shows numbers to people (CLI, Slack, alerts).

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatRate(rate: number | null): string {
  return rate === null ? '—' : `${(rate * 100).toFixed(rate === 1 ? 0 : 1)}%`;
}

export function formatDate(d: Date | undefined | null): string {
  return d ? d.toISOString().slice(0, 10) : '—';
}

export function formatDateTime(d: Date | undefined | null): string {
  return d ? `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '—';
}

/** "3 days ago", "never", … relative to `now`. */
export function formatAgo(d: Date | undefined | null, now: Date = new Date()): string {
  if (!d) return 'never';
  const s = Math.max(0, Math.round((now.getTime() - d.getTime()) / 1000));
  if (s < 60) return 'just now';
  const units: [number, string][] = [
    [365 * 86400, 'year'],
    [30 * 86400, 'month'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, name] of units) {
    if (s >= size) {
      const n = Math.floor(s / size);
      return `${n} ${name}${n === 1 ? '' : 's'} ago`;
    }
  }
  return 'just now';
}

/** A text progress bar: "▓▓▓▓▓░░░░░ 50%". Past 100 % the bar is full and the figure says by how much. */
export function progressBar(used: number, total: number, width = 20): string {
  const ratio = total > 0 ? used / total : 0;
  const filled = Math.min(width, Math.round(Math.min(ratio, 1) * width));
  return `${'▓'.repeat(filled)}${'░'.repeat(width - filled)} ${Math.round(ratio * 100)}%`;
}

export function formatStatus(status: 'active' | 'disabled'): string {
  return status === 'active' ? 'Active' : 'Disabled';
}

export function humanReason(reason: string): string {
  return reason.replace(/_/g, ' ');
}

const SPARKS = '▁▂▃▄▅▆▇█';

/**
 * One character per value: ▁ for zero, ▂ to █ for the rest in proportion to the largest, so a day with a little
 * mail never looks like a day with none.
 */
export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values);
  return values.map((v) => (v <= 0 || max === 0 ? SPARKS[0] : SPARKS[Math.max(1, Math.ceil((v / max) * 7))])).join('');
}

/** "97.5% ↓ from 99.0%": a delivery rate and where it was going (see deliveryTrend in the domain). */
export function formatTrend(t: { recent: number | null; before: number | null; direction: 'up' | 'down' | 'flat' | null }): string {
  if (t.recent === null) return '—';
  if (t.direction === null || t.before === null) return formatRate(t.recent);
  const arrow = t.direction === 'up' ? '↑' : t.direction === 'down' ? '↓' : '→';
  return t.direction === 'flat' ? `${formatRate(t.recent)} ${arrow}` : `${formatRate(t.recent)} ${arrow} from ${formatRate(t.before)}`;
}

/** 0.4213 -> "42.1%" (a share of a whole); a share too small to show as 0.1% is "<0.1%", not "0.0%". */
export function formatShare(share: number): string {
  return share > 0 && share < 0.0005 ? '<0.1%' : `${(share * 100).toFixed(1)}%`;
}
