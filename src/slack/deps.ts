// What every Slack listener needs, passed in by the composition root (src/slack/role.ts) to each listener at
// registration (registerCommands(app, deps)…): explicit, never looked up from the client.
import type { Config } from '../config.ts';
import type { DomainContext, FlagRepository, LaterOutcomeRepository } from '../domain/index.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { SlackDirectory } from './actor.ts';
import type { HomeViewers } from './home-viewers.ts';
import type { MongoInstallationStore } from './installations.ts';

export interface SlackDeps {
  ctx: DomainContext;
  config: Config;
  log: Logger;
  metrics: Metrics;
  /** Slack user -> workspace and domain Actor (roles), with short-lived caches. */
  directory: SlackDirectory;
  /** Who opened App Home recently, per workspace, so a change re-publishes their dashboard. */
  home: HomeViewers;
  /**
   * How long a modal submission may wait for the domain before Slack's 3-second limit forces an answer;
   * past it the modal shows "working" and is updated when the work ends.
   */
  submitDeadlineMs: number;
  /** Background work started after an ack; tracked so shutdown (and tests) can wait for it. */
  background: BackgroundTasks;
  /** OAuth distribution: the installations of every Slack team (absent with one SLACK_BOT_TOKEN). */
  installations?: MongoInstallationStore;
  /** The reputation guard's flag states (Expected on its warning) and the 30-day rates `/smtp show` and App Home print. */
  reputation: { flags: FlagRepository; later: Pick<LaterOutcomeRepository, 'reportCounts'> };
}

/** Tracks promises started after an ack; `drain` waits for them (bounded). */
export class BackgroundTasks {
  private readonly pending = new Set<Promise<unknown>>();

  run(task: () => Promise<unknown>): void {
    const p: Promise<unknown> = task().catch(() => undefined);
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  get size(): number {
    return this.pending.size;
  }

  async drain(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.pending.size > 0 && Date.now() < until) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.pending]), new Promise((r) => (timer = setTimeout(r, Math.max(0, until - Date.now()))))]);
      clearTimeout(timer);
    }
  }
}
