import { Schema, type Connection } from 'mongoose';

/**
 * One accepted inbound admin webhook delivery, kept so that it is applied once: the delivery id is unique
 * per integration, and the signature digest is unique too, so the same signed request sent again under a
 * new delivery id is still a replay. Old entries are pruned by code (no TTL index: FerretDB v1 has none).
 */
export const webhookDeliverySchema = new Schema(
  {
    integration: { type: String, required: true },
    deliveryId: { type: String, required: true },
    /** Hex HMAC of timestamp and body: identical for an identical signed request. */
    digest: { type: String, required: true },
    receivedAt: { type: Date, required: true },
    action: { type: String },
    /** The outcome (HTTP status and code), never the answer's body: a rotate's password is not kept. */
    status: { type: Number },
    code: { type: String },
    finishedAt: { type: Date },
  },
  { collection: 'webhook_deliveries', versionKey: false },
);
webhookDeliverySchema.index({ integration: 1, deliveryId: 1 }, { unique: true });
webhookDeliverySchema.index({ digest: 1 }, { unique: true });
webhookDeliverySchema.index({ receivedAt: 1 });

export const webhookDeliveryModel = (c: Connection) => c.model('WebhookDelivery', webhookDeliverySchema);
