// The worker role: one delivery worker per process (`npm start`, or `--role worker`; run as many
// processes as needed, they share the queue).
import type { RoleStarter } from '../roles.ts';
import { refreshQueueDepth } from './queue-depth.ts';
import { startDeliveryWorker } from './worker.ts';

export const startWorkerRole: RoleStarter = async (rt) => {
  const worker = startDeliveryWorker(rt);
  void refreshQueueDepth(rt).catch(() => undefined);
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
