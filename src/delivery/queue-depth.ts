// Messages not yet finished, for the smtpdesk_queue_depth gauge. The worker refreshes it on a timer; the
// HTTP role refreshes it on each /metrics scrape.
import type { Runtime } from '../runtime.ts';

export async function refreshQueueDepth(rt: Pick<Runtime, 'queue' | 'metrics'>): Promise<number> {
  const n = await rt.queue.countQueued();
  rt.metrics.queueDepth.set(n);
  return n;
}
