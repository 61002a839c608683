// Database commands per message, from smtpdesk's own counters (smtpdesk_db_commands_total, counted with the
// MongoDB driver's command monitoring): each role process runs with SMTPDESK_STATS_FILE and rewrites that
// file (a StatsSnapshot) on SIGUSR2. A harness reads a snapshot at the start and at the end of a measurement
// and divides the commands in between by the messages the relay accepted in between.
import { readFileSync } from 'node:fs';
import type { StatsSnapshot } from '../../src/metrics.ts';
import { sleep } from './peers.ts';

export type { StatsSnapshot };

export function readStatsFile(path: string): StatsSnapshot | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as StatsSnapshot;
  } catch {
    return null; // not written yet
  }
}

/** Sends SIGUSR2 to `pid` and waits (bounded) for the snapshot it then writes to `path`. */
export async function requestStats(pid: number, path: string, timeoutMs = 5000): Promise<StatsSnapshot> {
  const prev = readStatsFile(path);
  const prevSeq = prev?.pid === pid ? prev.seq : 0;
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = readStatsFile(path);
    if (s && s.pid === pid && s.seq > prevSeq) return s;
    if (Date.now() > deadline) throw new Error(`no stats snapshot from pid ${pid} in ${path} within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** after − before, per key (keys of either). */
export function delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const d = (after[k] ?? 0) - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

export const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

/** One measurement window of a smtpdesk run: commands by process and command name, and what they served. */
export interface DbWindow {
  /** Commands sent in the window, by process (relay, worker) then command name. */
  commands: Record<string, Record<string, number>>;
  /** Messages the relay accepted (smtpdesk_smtp_messages_total{result="accepted"}) in the window. */
  accepted: number;
  /** Recipients the worker delivered (smtpdesk_deliveries_total{outcome="delivered"}) in the window. */
  delivered: number;
}

export function dbWindow(before: Record<string, StatsSnapshot>, after: Record<string, StatsSnapshot>): DbWindow {
  const commands: DbWindow['commands'] = {};
  let accepted = 0;
  let delivered = 0;
  for (const role of Object.keys(after)) {
    const a = after[role]!;
    const none: Pick<StatsSnapshot, 'dbCommands' | 'smtpMessages' | 'deliveries'> = { dbCommands: {}, smtpMessages: {}, deliveries: {} };
    // A process restarted in between starts from zero.
    const b = before[role]?.pid === a.pid ? before[role] : none;
    commands[role] = delta(b.dbCommands, a.dbCommands);
    accepted += (a.smtpMessages.accepted ?? 0) - (b.smtpMessages.accepted ?? 0);
    delivered += (a.deliveries.delivered ?? 0) - (b.deliveries.delivered ?? 0);
  }
  return { commands, accepted, delivered };
}

/** Each count ÷ n, plus `all` (the sum ÷ n); NaN when n is 0. */
export function perUnit(cmds: Record<string, number>, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, c] of Object.entries(cmds)) out[name] = n ? c / n : NaN;
  out.all = n ? sum(cmds) / n : NaN;
  return out;
}

/** Commands per accepted message, by process then command name, plus `all` per process. */
export function perMessage(w: DbWindow): Record<string, Record<string, number>> {
  return Object.fromEntries(Object.entries(w.commands).map(([role, cmds]) => [role, perUnit(cmds, w.accepted)]));
}
