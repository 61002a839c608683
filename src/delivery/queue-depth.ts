// Messages not yet finished, for the smtpdesk_queue_depth gauge. The worker refreshes it on a timer; the
// HTTP role may call refreshQueueDepth on each /metrics scrape instead.
import type { Models } from '../store/models/index.ts';
import type { Runtime } from '../runtime.ts';

export function countQueuedMessages(models: Models): Promise<number> {
  return models.queuedMessages.countDocuments({ state: 'queued' });
}

export async function refreshQueueDepth(rt: Pick<Runtime, 'db' | 'metrics'>): Promise<number> {
  const n = await countQueuedMessages(rt.db.models);
  rt.metrics.queueDepth.set(n);
  return n;
}
