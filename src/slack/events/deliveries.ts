// Slack re-delivers an event it thinks was not acknowledged (X-Slack-Retry-Num in HTTP mode, a repeated
// envelope in Socket Mode). Events are acknowledged at once, so a retry is a duplicate: ack and drop it.
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';

export function dropRedeliveredEvents(deps: SlackDeps, opts: { remember?: number } = {}): Middleware<AnyMiddlewareArgs> {
  const seen = new Set<string>();
  const remember = opts.remember ?? 1000;
  return async ({ body, context, next }) => {
    const b = body as { type?: string; event_id?: string };
    if (b.type !== 'event_callback') return next();
    const retry = context.retryNum;
    if (retry !== undefined && retry > 0) {
      deps.log.info({ code: 'SLACK_EVENT_RETRY_DROPPED', eventId: b.event_id, retryNum: retry, reason: context.retryReason }, 'ignored a re-delivered event');
      deps.metrics.slackRequests.inc({ kind: 'event', result: 'duplicate' });
      return;
    }
    if (b.event_id) {
      if (seen.has(b.event_id)) {
        deps.log.info({ code: 'SLACK_EVENT_DUPLICATE_DROPPED', eventId: b.event_id }, 'ignored a duplicate event');
        deps.metrics.slackRequests.inc({ kind: 'event', result: 'duplicate' });
        return;
      }
      seen.add(b.event_id);
      if (seen.size > remember) seen.delete(seen.values().next().value!);
    }
    await next();
  };
}
