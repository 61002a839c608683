// Rate limit at RCPT TO: each recipient takes one from the account's current window, shared by every relay
// instance through one atomic update (src/store/repositories/rate-windows.ts). Only accounts with a limit
// touch the database here. Over the limit: 451 4.7.1 with the time the window ends.
import type { SMTPServerSession } from 'smtp-server';
import { describeRateLimit, takeRecipients, type SmtpPrincipal } from '../domain/index.ts';
import { sessionFields, type RelayDeps } from './deps.ts';
import { reply, smtpErrorWithEnhanced } from './smtp-errors.ts';

/** What the rate limit uses of the relay's deps. */
export type RateLimitDeps = Pick<RelayDeps, 'ctx' | 'log' | 'refusals'>;

/** Null when the recipient may be added (or the account has no limit); otherwise the reply to give. */
export async function rateLimitRefusal(deps: RateLimitDeps, session: SMTPServerSession, principal: SmtpPrincipal): Promise<Error | null> {
  const limit = principal.policy.rateLimit;
  if (!limit) return null;
  const now = deps.ctx.clock();
  let verdict;
  try {
    verdict = await takeRecipients(deps.ctx.rateWindows, principal.accountId, limit, 1, now);
  } catch (err) {
    deps.log.error({ err, code: 'RELAY_STORE_UNAVAILABLE', ...sessionFields(session), stage: 'rate_limit' }, 'cannot count the rate limit: 451');
    return reply.storeUnavailable();
  }
  if (verdict.ok) return null;
  deps.refusals.add(principal);
  const inSeconds = Math.max(1, Math.ceil((verdict.retryAt.getTime() - now.getTime()) / 1000));
  deps.log.warn({ code: 'RELAY_RATE_LIMITED', ...sessionFields(session), limit: `${limit.limit}/${limit.per}`, retryAt: verdict.retryAt.toISOString() }, 'rate limit reached: 451');
  return smtpErrorWithEnhanced(
    451,
    '4.7.1',
    `Rate limit of ${principal.username} reached (${describeRateLimit(limit)}): try again after ${verdict.retryAt.toISOString()} (in ${inSeconds} s)`,
  );
}
