// Putting a message straight into the queue, as the relay's commit does, for tests of what comes after.
import { createQueue, newQueueId, type Queue } from '../../src/store/queue/index.ts';
import type { Models } from '../../src/store/models/index.ts';

export interface TestMessage {
  id?: string;
  workspaceId: string;
  accountId: string;
  username: string;
  from: string;
  to: string[];
  body: Buffer | string;
  at: Date;
  kind?: 'message' | 'bounce';
  subject?: string;
  messageId?: string;
}

export async function enqueueMessage(queue: Queue | Models, msg: TestMessage): Promise<string> {
  const q = 'enqueueMany' in queue ? queue : createQueue(queue);
  const { body, ...rest } = msg;
  const id = msg.id ?? newQueueId();
  await q.enqueueMany([{ ...rest, id, head: Buffer.alloc(0), body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1') }]);
  return id;
}

/** The stored message as the worker would send it. */
export function storedBody(queue: Queue | Models, id: string): Promise<Buffer> {
  const q = 'enqueueMany' in queue ? queue : createQueue(queue);
  return q.readBody({ id, chunks: 0 });
}
