import type { Models } from '../models/index.ts';
import type { QueueReader } from '../../domain/ports.ts';
import { queueAdmin } from './queue-admin.ts';

export function queueReader(m: Models): QueueReader {
  return {
    countQueuedForAccount(accountId) {
      return m.queuedMessages.countDocuments({ accountId, state: 'queued' });
    },
    ...queueAdmin(m),
  };
}
