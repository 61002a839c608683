// What arrived after the SMTP session for a queued message's recipients (later bounces, transient reports,
// complaints), as `queue show` prints it beside each recipient.
import type { LaterOutcomes } from '../../domain/index.ts';
import { formatDateTime } from '../../shared/format.ts';
import type { CliContext } from '../command.ts';
import { laterOutcomeRepository } from '../../store/later-outcomes.ts';

export async function readLaterOutcomes(cli: CliContext, queueId: string): Promise<Map<number, LaterOutcomes>> {
  return laterOutcomeRepository((await cli.runtime()).db.models).laterOutcomes(queueId);
}

/** "bounced 5.1.1 at 2026-12-05 03:02; complaint at …" ('' when nothing arrived later). */
export function laterText(o: LaterOutcomes | undefined): string {
  if (!o) return '';
  const parts: string[] = [];
  if (o.bounced) parts.push(`bounced later ${o.bounced.status} at ${formatDateTime(o.bounced.at)}`.replace('  ', ' '));
  if (o.transient) parts.push(`delayed ${o.transient.status} at ${formatDateTime(o.transient.at)}`.replace('  ', ' '));
  if (o.complained) parts.push(`complaint (${o.complained.feedbackType}) at ${formatDateTime(o.complained.at)}`);
  return parts.join('; ');
}
