// The activity label every account list shows (Slack list, App Home, CLI). One rule, here.
import { DAY_MS } from './clock.ts';
import type { Account } from './model.ts';

export type ActivityLabel = 'Active' | 'Quiet' | 'Idle' | 'Never used';

/** No send for this many days: Quiet (a hint, before the account is Idle at IDLE_AFTER_DAYS). */
export const QUIET_AFTER_DAYS = 30;

/**
 * Never used: no send ever. Idle: no send for `idleAfterDays` days or more (the idle job's threshold).
 * Quiet: no send for QUIET_AFTER_DAYS days or more. Active: sent more recently than that.
 */
export function activityLabel(a: Pick<Account, 'lastUsedAt'>, now: Date, idleAfterDays: number): ActivityLabel {
  if (!a.lastUsedAt) return 'Never used';
  const days = (now.getTime() - a.lastUsedAt.getTime()) / DAY_MS;
  if (days >= idleAfterDays) return 'Idle';
  if (days >= QUIET_AFTER_DAYS) return 'Quiet';
  return 'Active';
}
