// Messages not yet finished, for the smtpdesk_queue_depth gauge. The worker refreshes it on a timer; the
// HTTP role on each /metrics scrape. Both go through the queue's sampler, which counts sparingly (depth.ts).
import type { Runtime } from '../runtime.ts';

export async function refreshQueueDepth(rt: Pick<Runtime, 'queue' | 'metrics'>): Promise<number | null> {
  const n = await rt.queue.depth.sample();
  if (n !== null) rt.metrics.queueDepth.set(n);
  return n;
}
