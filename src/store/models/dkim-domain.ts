import { Schema, type Connection } from 'mongoose';

/**
 * A sending domain with its DKIM keys. `_id` is the lower-cased domain name: one owner per domain across
 * workspaces, and the worker finds a domain's keys by _id (the only index FerretDB uses). Private keys are
 * stored only sealed with SMTPDESK_SECRET_KEY (AES-256-GCM, see src/domain/secret-box.ts).
 */
const dkimKeySchema = new Schema(
  {
    selector: { type: String, required: true },
    state: { type: String, enum: ['pending', 'active', 'retiring'], required: true },
    /** Base64 DER SubjectPublicKeyInfo: the p= of the DNS record. */
    publicKey: { type: String, required: true },
    sealedPrivateKey: { type: String, required: true },
    createdAt: { type: Date, required: true },
    activatedAt: { type: Date },
  },
  { _id: false },
);

export const dkimDomainSchema = new Schema(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    keys: { type: [dkimKeySchema], default: [] },
    createdAt: { type: Date, required: true },
    createdBy: { type: String, required: true },
    lastVerifiedAt: { type: Date },
  },
  { collection: 'dkim_domains', versionKey: false },
);

export const dkimDomainModel = (c: Connection) => c.model('DkimDomain', dkimDomainSchema);
