// The "Sending limits" modal: allowed senders and rate limit of an account (admins). A malformed value is
// shown inline under its field; the saved limits apply from the next message on every relay instance.
import type { App } from '@slack/bolt';
import {
  describeAllowedNetworks,
  describeAllowedSenders,
  describeRateLimit,
  isDomainError,
  parseAllowedNetworks,
  parseAllowedSenders,
  parseRateLimit,
  setSendingPolicy,
} from '../../domain/index.ts';
import { esc } from '../blocks/common.ts';
import { noticeModal } from '../blocks/modals.ts';
import type { SlackDeps } from '../deps.ts';
import { INPUT, VIEW } from '../ids.ts';
import { onSubmit } from './submit.ts';

export function registerLimitsView(app: App, deps: SlackDeps): void {
  onSubmit(app, deps, VIEW.limits, {
    op: 'limits',
    title: 'Sending limits',
    async run(s) {
      const sendersText = s.input(INPUT.limitsSenders.block, INPUT.limitsSenders.action)?.value ?? '';
      const rateText = s.input(INPUT.limitsRate.block, INPUT.limitsRate.action)?.value ?? '';
      const errors: Record<string, string> = {};
      const parse = <T>(block: string, f: () => T): T | undefined => {
        try {
          return f();
        } catch (err) {
          if (!isDomainError(err)) throw err;
          errors[block] = err.message;
          return undefined;
        }
      };
      const allowedSenders = parse(INPUT.limitsSenders.block, () => parseAllowedSenders(sendersText));
      const rateLimit = parse(INPUT.limitsRate.block, () => parseRateLimit(rateText));
      // A view opened before the field existed has no such input: its networks stay as they are.
      const networksInput = s.input(INPUT.limitsNetworks.block, INPUT.limitsNetworks.action);
      const allowedNetworks = networksInput ? parse(INPUT.limitsNetworks.block, () => parseAllowedNetworks(networksInput.value ?? '')) : undefined;
      if (Object.keys(errors).length) return { errors };
      const a = await setSendingPolicy(deps.ctx, s.resolved.actor, s.resolved.workspace.id, s.meta.n ?? '', {
        allowedSenders: allowedSenders ?? null,
        rateLimit: rateLimit ?? null,
        ...(networksInput ? { allowedNetworks: allowedNetworks ?? null } : {}),
      });
      return {
        view: noticeModal(
          'Sending limits',
          `:white_check_mark: Saved for *${esc(a.name)}*.\n*Allowed senders:* ${esc(describeAllowedSenders(a.allowedSenders))}\n*Rate limit:* ${describeRateLimit(a.rateLimit)}\n*Allowed networks:* ${esc(describeAllowedNetworks(a.allowedNetworks))}\nThey apply from the next message, on every relay.`,
        ),
      };
    },
  });
}
