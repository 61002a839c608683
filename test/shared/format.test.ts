// Sparklines and trends as the CLI and Slack show them, and the one rule for activity labels.
import { describe, expect, it } from 'vitest';
import { activityLabel, DAY_MS, deliveryTrend } from '../../src/domain/index.ts';
import { formatTrend, sparkline } from '../../src/shared/format.ts';

describe('sparkline', () => {
  it('shows zero days as ▁ and scales the rest to the busiest day', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([0, 1, 1000])).toBe('▁▂█');
    expect(sparkline([0, 0, 0])).toBe('▁▁▁');
    expect(sparkline([])).toBe('');
  });
});

describe('delivery trend', () => {
  const days = (rates: [number, number][]) => rates.map(([delivered, bounced], i) => ({ day: `d${i}`, sent: delivered + bounced, delivered, bounced, deferred: 0, failed: 0 }));
  it('compares the last 7 days with the days before them', () => {
    const t = deliveryTrend(days([...Array<[number, number]>(23).fill([99, 1]), ...Array<[number, number]>(7).fill([90, 10])]));
    expect(t.direction).toBe('down');
    expect(formatTrend(t)).toBe('90.0% ↓ from 99.0%');
    expect(formatTrend(deliveryTrend(days([...Array<[number, number]>(23).fill([99, 1]), ...Array<[number, number]>(7).fill([99, 1])])))).toBe('99.0% →');
    expect(formatTrend(deliveryTrend(days(Array<[number, number]>(30).fill([0, 0]))))).toBe('—');
  });
});

describe('activityLabel', () => {
  const now = new Date('2026-12-01T12:00:00Z');
  const ago = (d: number) => ({ lastUsedAt: new Date(now.getTime() - d * DAY_MS) });
  it.each([
    [{}, 'Never used'],
    [ago(0), 'Active'],
    [ago(29.9), 'Active'],
    [ago(30), 'Quiet'],
    [ago(59.9), 'Quiet'],
    [ago(60), 'Idle'],
    [ago(400), 'Idle'],
  ])('%j -> %s (IDLE_AFTER_DAYS 60)', (a, label) => {
    expect(activityLabel(a, now, 60)).toBe(label);
  });
  it('follows IDLE_AFTER_DAYS', () => {
    expect(activityLabel(ago(20), now, 14)).toBe('Idle');
    expect(activityLabel(ago(45), now, 90)).toBe('Quiet');
  });
});
