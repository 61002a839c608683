// Inbound admin webhook deliveries: each is accepted once (replay protection), in MongoDB so that every
// HTTP instance sees the same record.
import type { Models } from '../models/index.ts';
import { isDuplicateKeyError } from '../connection.ts';

export interface DeliveryClaim {
  integration: string;
  deliveryId: string;
  digest: string;
  receivedAt: Date;
  action: string;
}

export type ClaimResult = { claimed: true; id: string } | { claimed: false; firstReceivedAt?: Date; status?: number; code?: string };

export interface WebhookDeliveryStore {
  /** Records the delivery; `claimed: false` when its id (or the same signed request) was seen before. */
  claim(input: DeliveryClaim): Promise<ClaimResult>;
  /** Records the outcome of a claimed delivery (status and code only). */
  finish(id: string, outcome: { status: number; code: string; at: Date }): Promise<void>;
  /** Forgets a claim whose action failed for a reason of ours (e.g. the database), so it may be sent again. */
  release(id: string): Promise<void>;
  /** Removes records received before `before`; returns how many. */
  prune(before: Date): Promise<number>;
}

export function webhookDeliveryStore(m: Models): WebhookDeliveryStore {
  const D = m.webhookDeliveries;
  return {
    async claim(input) {
      try {
        const doc = await D.create(input);
        return { claimed: true, id: String(doc._id) };
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        const first = await D.findOne({
          $or: [{ integration: input.integration, deliveryId: input.deliveryId }, { digest: input.digest }],
        }).lean();
        const out: ClaimResult = { claimed: false };
        if (first?.receivedAt) out.firstReceivedAt = first.receivedAt;
        if (typeof first?.status === 'number') out.status = first.status;
        if (first?.code) out.code = first.code;
        return out;
      }
    },
    async finish(id, outcome) {
      await D.updateOne({ _id: id }, { $set: { status: outcome.status, code: outcome.code, finishedAt: outcome.at } });
    },
    async release(id) {
      await D.deleteOne({ _id: id });
    },
    async prune(before) {
      const r = await D.deleteMany({ receivedAt: { $lt: before } });
      return r.deletedCount ?? 0;
    },
  };
}
