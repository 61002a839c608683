// CPU and memory of a server's process tree, read from /proc (Linux only).
// CPU = utime+stime (+ cutime+cstime: children that exited and were reaped, e.g. Postfix's smtpd
// processes) summed over the tree. Memory = the peak, over samples, of the sum of VmHWM of the tree's
// live processes (VmHWM is each process's own resident high-water mark; shared pages count once per
// process, as RSS does).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface StatLine {
  pid: number;
  ppid: number;
  ticks: number;
}

function readStat(pid: number): StatLine | null {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parentheses: split after the last ')'.
    const rest = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    // rest[0] = state (field 3); utime = field 14, stime 15, cutime 16, cstime 17.
    const f = (n: number) => Number(rest[n - 3]);
    return { pid, ppid: f(4), ticks: f(14) + f(15) + f(16) + f(17) };
  } catch {
    return null;
  }
}

function allStats(): StatLine[] {
  const out: StatLine[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** The pids of `roots` and all their descendants that are alive now. */
export function processTree(roots: number[]): number[] {
  const stats = allStats();
  const children = new Map<number, number[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
  const seen = new Set<number>();
  const stack = roots.filter((pid) => stats.some((s) => s.pid === pid));
  while (stack.length) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return [...seen];
}

export function cpuSecondsOf(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) ticks += readStat(pid)?.ticks ?? 0;
  return ticks / CLK_TCK;
}

export function vmHwmKb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Samples a tree while a load runs: CPU seconds used between start() and stop(), peak memory. */
export class TreeMonitor {
  private startCpu = new Map<number, number>();
  private peakKb = 0;
  private timer: NodeJS.Timeout | null = null;
  private lastCpu = new Map<number, number>();

  constructor(
    private readonly roots: () => number[],
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    for (const pid of processTree(this.roots())) this.startCpu.set(pid, cpuSecondsOf([pid]));
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    const pids = processTree(this.roots());
    let kb = 0;
    for (const pid of pids) {
      kb += vmHwmKb(pid);
      this.lastCpu.set(pid, cpuSecondsOf([pid]));
    }
    this.peakKb = Math.max(this.peakKb, kb);
  }

  /** CPU seconds (user+sys) the tree used since start(); peak memory in MB. */
  stop(): { cpuSeconds: number; peakMb: number } {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    let cpu = 0;
    // Processes alive at the end count from their start value (0 if born during the run); processes that
    // died during the run were reaped by a parent in the tree, whose cutime/cstime now holds them.
    for (const pid of processTree(this.roots())) cpu += cpuSecondsOf([pid]) - (this.startCpu.get(pid) ?? 0);
    return { cpuSeconds: Math.max(0, cpu), peakMb: this.peakKb / 1024 };
  }
}

/** A process's resident set now (VmRSS), in kB; 0 when it is gone. */
export function vmRssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
