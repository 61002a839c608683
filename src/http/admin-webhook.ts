// POST /webhooks/admin: signed admin actions for incident tooling (disable, enable, rotate an account,
// by username or by workspace and name). The request is checked in this order: signature, time window,
// delivery id, JSON, fields; then the delivery is claimed once in MongoDB and the domain use case runs
// with the integration as the actor (audited by the domain under the integration's name).
import { z } from 'zod';
import {
  disableAccount,
  enableAccount,
  findAccountByUsernameOrThrow,
  parseDisableReason,
  resolveWorkspace,
  rotateAccountPassword,
  getWorkspaceOrThrow,
  DISABLE_REASONS,
  type Account,
  type Actor,
  type Workspace,
} from '../domain/index.ts';
import type { Runtime } from '../runtime.ts';
import { SIGNATURE_HEADERS, verifySignature } from '../shared/signing.ts';
import { webhookDeliveryStore, type WebhookDeliveryStore } from '../store/repositories/webhook-deliveries.ts';
import { HttpError, toErrorAnswer } from './errors.ts';
import type { HttpAnswer, RequestContext, Route } from './route.ts';

export const ADMIN_WEBHOOK_PATH = '/webhooks/admin';
export const ADMIN_WEBHOOK_ACTIONS = ['disable', 'enable', 'rotate'] as const;
type AdminAction = (typeof ADMIN_WEBHOOK_ACTIONS)[number];

const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,200}$/;

const text = (max: number) => z.string().trim().min(1).max(max);
const requestSchema = z.object({
  action: z.string(),
  username: text(200).optional(),
  workspace: text(200).optional(),
  name: text(200).optional(),
  reason: text(500).optional(),
  note: z.string().max(500).optional(),
});

export interface AdminWebhookRequest {
  action: AdminAction;
  target: { username: string } | { workspace: string; name: string };
  /** disable: the reason category; enable and rotate: free text recorded in the audit. */
  reason?: string;
  note?: string;
}

export function adminWebhookRoutes(rt: Runtime, opts: { clock: () => Date }): Route[] {
  const deliveries = webhookDeliveryStore(rt.db.models);
  return [
    {
      method: 'POST',
      path: ADMIN_WEBHOOK_PATH,
      async handle(rc) {
        const trace: Trace = {};
        try {
          const answer = await handleAdminWebhook(rt, deliveries, opts.clock, rc, trace);
          rt.metrics.webhookCalls.inc({ direction: 'inbound', result: 'ok' });
          return answer;
        } catch (err) {
          const { code, status } = toErrorAnswer(err);
          rt.metrics.webhookCalls.inc({ direction: 'inbound', result: code });
          rc.log.warn({ code: 'WEBHOOK_IN_REFUSED', error: code, status, ...trace }, `admin webhook refused: ${code}`);
          throw err;
        }
      },
    },
  ];
}

/** What the log lines may say about a call: never the body, never a password. */
interface Trace {
  integration?: string;
  deliveryId?: string;
  action?: string;
  username?: string;
  workspace?: string;
}

async function handleAdminWebhook(rt: Runtime, deliveries: WebhookDeliveryStore, clock: () => Date, rc: RequestContext, trace: Trace): Promise<HttpAnswer> {
  const secrets = rt.config.http.adminWebhookSecrets;
  if (secrets.length === 0) {
    throw new HttpError('WEBHOOK.NOT_CONFIGURED', 'Admin webhooks are off: set ADMIN_WEBHOOK_SECRETS to enable them.');
  }
  const rawBody = await rc.body();
  const now = clock();
  const header = (name: string) => {
    const v = rc.req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };

  const verified = verifySignature({
    secrets,
    timestamp: header(SIGNATURE_HEADERS.timestamp),
    signature: header(SIGNATURE_HEADERS.signature),
    integration: header(SIGNATURE_HEADERS.integration),
    rawBody,
    now,
    toleranceMs: rt.config.http.webhookToleranceMs,
  });
  if (!verified.ok) {
    if (verified.integration) trace.integration = verified.integration;
    throw signatureError(verified.reason, rt.config.http.webhookToleranceMs, now);
  }
  trace.integration = verified.integration;

  const deliveryId = header(SIGNATURE_HEADERS.delivery)?.trim() ?? '';
  if (!DELIVERY_ID.test(deliveryId)) {
    throw new HttpError('WEBHOOK.DELIVERY_ID_INVALID', 'X-Smtpdesk-Delivery must be a unique id of 1 to 200 letters, digits, ".", "_", ":" or "-".');
  }
  trace.deliveryId = deliveryId;

  const contentType = header('content-type');
  if (contentType && !/^application\/([a-z.+-]*\+)?json\b/i.test(contentType.trim())) {
    throw new HttpError('HTTP.UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.');
  }
  const request = parseRequest(rawBody);
  trace.action = request.action;
  if ('username' in request.target) trace.username = request.target.username;
  else trace.workspace = request.target.workspace;

  const claim = await deliveries.claim({
    integration: verified.integration,
    deliveryId,
    digest: verified.digest,
    receivedAt: now,
    action: request.action,
  });
  if (!claim.claimed) {
    throw new HttpError('WEBHOOK.REPLAYED', `Delivery "${deliveryId}" (or the same signed request) was already received; it is not applied again.`, {
      deliveryId,
      ...(claim.firstReceivedAt ? { firstReceivedAt: claim.firstReceivedAt.toISOString() } : {}),
      ...(claim.status !== undefined ? { originalStatus: claim.status } : {}),
    });
  }

  const actor: Actor = { source: 'webhook', id: verified.integration, roles: ['admin'] };
  try {
    const answer = await apply(rt, actor, request);
    await deliveries.finish(claim.id, { status: answer.status, code: 'ok', at: clock() });
    rc.log.info({ code: 'WEBHOOK_IN_APPLIED', ...trace, account: (answer.json as { account: { username: string } }).account.username }, `admin webhook: ${request.action} applied`);
    return { ...answer, json: { ...(answer.json as object), deliveryId, integration: verified.integration } };
  } catch (err) {
    const e = toErrorAnswer(err);
    // A refusal by the rules is the delivery's outcome; a failure of ours (database…) may be retried.
    if (e.status >= 500) await deliveries.release(claim.id).catch(() => undefined);
    else await deliveries.finish(claim.id, { status: e.status, code: e.code, at: clock() }).catch(() => undefined);
    throw err;
  }
}

function signatureError(reason: 'missing' | 'timestamp_invalid' | 'signature_invalid' | 'timestamp_stale', toleranceMs: number, now: Date): HttpError {
  switch (reason) {
    case 'missing':
      return new HttpError('WEBHOOK.SIGNATURE_MISSING', 'Sign the request: X-Smtpdesk-Timestamp and X-Smtpdesk-Signature are required.');
    case 'timestamp_invalid':
      return new HttpError('WEBHOOK.TIMESTAMP_INVALID', 'X-Smtpdesk-Timestamp must be the Unix time in seconds.');
    case 'signature_invalid':
      return new HttpError('WEBHOOK.SIGNATURE_INVALID', 'The signature does not match.');
    case 'timestamp_stale':
      return new HttpError('WEBHOOK.TIMESTAMP_STALE', `The timestamp is more than ${Math.round(toleranceMs / 1000)} seconds away from the server's time; sign the request again.`, {
        toleranceSeconds: Math.round(toleranceMs / 1000),
        serverTime: Math.floor(now.getTime() / 1000),
      });
  }
}

/** Raw body -> a valid request, or 400 (not JSON) / 422 (unknown action, missing or bad fields). */
export function parseRequest(rawBody: Buffer): AdminWebhookRequest {
  let data: unknown;
  try {
    data = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new HttpError('WEBHOOK.MALFORMED_JSON', 'The body is not valid JSON.');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new HttpError('WEBHOOK.INVALID_REQUEST', 'The body must be a JSON object.');
  }
  const parsed = requestSchema.safeParse(data);
  if (!parsed.success) {
    throw new HttpError('WEBHOOK.INVALID_REQUEST', 'Some fields are not valid.', {
      fields: parsed.error.issues.map((i) => ({ field: i.path.join('.'), problem: i.message })),
    });
  }
  const b = parsed.data;
  if (!(ADMIN_WEBHOOK_ACTIONS as readonly string[]).includes(b.action)) {
    throw new HttpError('WEBHOOK.UNKNOWN_ACTION', `Unknown action "${b.action}". Actions: ${ADMIN_WEBHOOK_ACTIONS.join(', ')}.`, {
      actions: ADMIN_WEBHOOK_ACTIONS,
    });
  }
  const action = b.action as AdminAction;
  let target: AdminWebhookRequest['target'];
  if (b.username && !b.workspace && !b.name) target = { username: b.username };
  else if (!b.username && b.workspace && b.name) target = { workspace: b.workspace, name: b.name };
  else {
    throw new HttpError('WEBHOOK.INVALID_REQUEST', 'Name the account by "username", or by "workspace" and "name" (not both).', {
      fields: [{ field: 'username', problem: 'give username, or workspace and name' }],
    });
  }
  if (action === 'disable') {
    if (!b.reason) {
      throw new HttpError('WEBHOOK.INVALID_REQUEST', `A disable needs a "reason": one of ${DISABLE_REASONS.join(', ')}.`, {
        fields: [{ field: 'reason', problem: 'required' }],
        reasons: DISABLE_REASONS,
      });
    }
    parseDisableReason(b.reason); // refused before the delivery is claimed
  }
  const out: AdminWebhookRequest = { action, target };
  if (b.reason) out.reason = b.reason;
  if (b.note?.trim()) out.note = b.note.trim();
  return out;
}

async function apply(rt: Runtime, actor: Actor, request: AdminWebhookRequest): Promise<HttpAnswer> {
  const ctx = rt.ctx;
  const { workspace, name } = await resolveTarget(rt, request.target);
  const note = request.action === 'disable' ? request.note : [request.reason, request.note].filter(Boolean).join(' — ') || undefined;
  const base = { ok: true, action: request.action, workspace: { id: workspace.id, name: workspace.name } };
  switch (request.action) {
    case 'disable': {
      const account = await disableAccount(ctx, actor, workspace.id, name, request.reason!, note);
      return { status: 200, json: { ...base, account: accountJson(account) } };
    }
    case 'enable': {
      const account = await enableAccount(ctx, actor, workspace.id, name, note);
      return { status: 200, json: { ...base, account: accountJson(account) } };
    }
    case 'rotate': {
      const issued = await rotateAccountPassword(ctx, actor, workspace.id, name, note);
      // The one place the new password appears: this answer (Cache-Control: no-store). Never logged or stored.
      return { status: 200, json: { ...base, account: accountJson(issued.account), username: issued.username, password: issued.password } };
    }
  }
}

async function resolveTarget(rt: Runtime, target: AdminWebhookRequest['target']): Promise<{ workspace: Workspace; name: string }> {
  if ('username' in target) {
    const account = await findAccountByUsernameOrThrow(rt.ctx, target.username);
    return { workspace: await getWorkspaceOrThrow(rt.ctx, account.workspaceId), name: account.name };
  }
  return { workspace: await resolveWorkspace(rt.ctx, target.workspace), name: target.name };
}

function accountJson(a: Account) {
  return {
    id: a.id,
    name: a.name,
    username: a.username,
    status: a.status,
    ...(a.disabled ? { disabled: { by: a.disabled.by, at: a.disabled.at.toISOString(), reason: a.disabled.reason, ...(a.disabled.note ? { note: a.disabled.note } : {}) } } : {}),
  };
}
