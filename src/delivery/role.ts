// The worker role: one delivery worker per process (`npm start`, or `--role worker`; run as many
// processes as needed, they share the queue).
import { secretKeyProblem } from '../domain/index.ts';
import type { RoleStarter } from '../role-starter.ts';
import { StartupError } from '../shared/startup-errors.ts';
import { refreshQueueDepth } from './queue-depth.ts';
import { startDeliveryWorker } from './worker.ts';

export const startWorkerRole: RoleStarter = async (rt) => {
  const problem = await secretKeyProblem(rt.ctx);
  if (problem) throw new StartupError(`worker cannot start: ${problem}`);
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
