// After an attempt: recipients a receiving server refused for good because of the mailbox go on the
// workspace's suppression list (the rule is src/domain/suppressions.ts). Only a hard bounce costs a write.
import { suppressHardBounces, type DomainContext } from '../domain/index.ts';
import type { Logger } from '../log.ts';
import { enhancedStatusOf } from './classify.ts';
import type { RecipientOutcome } from './outcome.ts';

export type SuppressionRecorder = (message: { workspaceId: string; kind?: string | null }, outcomes: readonly RecipientOutcome[], at: Date) => Promise<void>;

export function createSuppressionRecorder(ctx: DomainContext, log: Logger): SuppressionRecorder {
  return async (message, outcomes, at) => {
    // A bounce notice that bounces is about the sender's own address: not a list of the workspace's recipients.
    if (message.kind === 'bounce') return;
    const bounces = outcomes
      .filter((o) => o.outcome === 'bounced' && o.failure?.replyCode !== undefined)
      .map((o) => {
        const f = o.failure!;
        const enhancedStatus = enhancedStatusOf(f.message);
        return {
          address: o.address,
          reply: f.message,
          answer: { replyCode: f.replyCode, ...(enhancedStatus ? { enhancedStatus } : {}), ...(f.stage ? { stage: f.stage } : {}) },
        };
      });
    if (!bounces.length) return;
    try {
      const suppressed = await suppressHardBounces(ctx, message.workspaceId, bounces, at);
      for (const address of suppressed) {
        log.info({ code: 'SUPPRESSION_ADDED', workspaceId: message.workspaceId, recipient: address }, 'hard bounce: recipient added to the suppression list');
      }
    } catch (err) {
      log.error(
        { code: 'SUPPRESSION_ADD_FAILED', workspaceId: message.workspaceId, err: { message: (err as Error).message } },
        'could not add hard-bounced recipients to the suppression list',
      );
    }
  };
}
