// The worker role: one delivery worker per process (`npm start`, or `--role worker`; run as many
// processes as needed, they share the queue).
import type { RoleStarter } from '../roles.ts';
import { startDeliveryWorker } from './worker.ts';

export const startWorkerRole: RoleStarter = async (rt) => {
  const worker = startDeliveryWorker(rt);
  void rt.queue.countQueued().then((n) => rt.metrics.queueDepth.set(n), () => undefined);
  let running = true;
  return {
    description: worker.description,
    ready: () => running && worker.alive(),
    async stop() {
      running = false;
      await worker.stop();
    },
  };
};
