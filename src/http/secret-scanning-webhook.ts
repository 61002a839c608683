// POST /webhooks/secret-scanning: leak reports in GitHub's secret-scanning partner format. The body is a JSON
// array of {token, type, url, source}, signed with ECDSA P-256 / SHA-256: the signature (base64, DER) is in
// Github-Public-Key-Signature and names its key in Github-Public-Key-Identifier (secret-scanning-keys.ts).
// Checked in this order, and nothing changes before all of it holds: signature headers, key, signature, JSON,
// fields. Then each token goes through the domain (src/domain/leaks.ts) and the answer is GitHub's feedback:
// [{"token_raw", "token_type", "label": "true_positive" | "false_positive"}].
import { verify } from 'node:crypto';
import { z } from 'zod';
import { handleLeakReport, type Actor, type LeakOutcome } from '../domain/index.ts';
import type { Runtime } from '../runtime.ts';
import { HttpError, toErrorAnswer } from './errors.ts';
import type { HttpAnswer, RequestContext, Route } from './route.ts';
import { publicKeyStore, type PublicKeyStore } from './secret-scanning-keys.ts';

export const SECRET_SCANNING_PATH = '/webhooks/secret-scanning';
export const SIGNATURE_HEADER = 'github-public-key-signature';
export const KEY_ID_HEADER = 'github-public-key-identifier';
/** GitHub sends alerts in batches; more than this in one request is refused whole. */
export const MAX_ALERTS = 1000;

const alertSchema = z.object({
  token: z.string().min(1).max(1024),
  type: z.string().max(200).optional(),
  url: z.string().max(2000).optional(),
  source: z.string().max(200).optional(),
});
const bodySchema = z.array(alertSchema).min(1).max(MAX_ALERTS);

export interface FeedbackItem {
  token_raw: string;
  token_type: string;
  label: 'true_positive' | 'false_positive';
}

export function secretScanningRoutes(rt: Runtime, opts: { keys?: PublicKeyStore } = {}): Route[] {
  const s = rt.config.secretScanning;
  const keys = opts.keys ?? publicKeyStore({ file: s.keysFile, url: s.keysUrl, refreshMs: s.refreshMs });
  return [
    {
      method: 'POST',
      path: SECRET_SCANNING_PATH,
      async handle(rc) {
        const trace: { keyId?: string; alerts?: number } = {};
        try {
          const answer = await handleSecretScanning(rt, keys, rc, trace);
          rt.metrics.webhookCalls.inc({ direction: 'inbound', result: 'ok' });
          return answer;
        } catch (err) {
          const { code, status } = toErrorAnswer(err);
          rt.metrics.webhookCalls.inc({ direction: 'inbound', result: code });
          rc.log.warn({ code: 'SECRET_SCANNING_REFUSED', error: code, status, ...trace }, `secret-scanning report refused: ${code}`);
          throw err;
        }
      },
    },
  ];
}

async function handleSecretScanning(rt: Runtime, keys: PublicKeyStore, rc: RequestContext, trace: { keyId?: string; alerts?: number }): Promise<HttpAnswer> {
  const header = (name: string) => {
    const v = rc.req.headers[name];
    return (Array.isArray(v) ? v[0] : v)?.trim() ?? '';
  };
  const keyId = header(KEY_ID_HEADER);
  const signature = header(SIGNATURE_HEADER);
  if (!keyId || !signature) {
    throw new HttpError('SECRET_SCANNING.SIGNATURE_MISSING', 'Sign the report: Github-Public-Key-Identifier and Github-Public-Key-Signature are required.');
  }
  trace.keyId = keyId.slice(0, 200);
  const rawBody = await rc.body();

  let key;
  try {
    key = await keys.get(keyId);
  } catch (err) {
    rc.log.error({ err, code: 'SECRET_SCANNING_KEYS_FAILED', keyId: trace.keyId }, 'could not read the secret-scanning public keys');
    throw new HttpError(
      'SECRET_SCANNING.KEYS_UNAVAILABLE',
      'The public keys that sign reports cannot be read right now; send the report again later.',
      {},
      { 'retry-after': '60' },
    );
  }
  if (!key) throw new HttpError('SECRET_SCANNING.UNKNOWN_KEY', `No public key "${trace.keyId}": the report cannot be checked.`, { keyId: trace.keyId });
  if (!verifySignature(rawBody, signature, key)) throw new HttpError('SECRET_SCANNING.SIGNATURE_INVALID', 'The signature does not match the report.');

  const alerts = parseAlerts(rawBody);
  trace.alerts = alerts.length;
  const reporter: Actor = { source: 'webhook', id: 'secret-scanning', name: 'GitHub secret scanning', roles: ['responder'] };
  const feedback: FeedbackItem[] = [];
  for (const alert of alerts) {
    const outcome = await handleLeakReport(rt.ctx, reporter, alert);
    feedback.push({ token_raw: alert.token, token_type: alert.type ?? '', label: outcome.label });
    logOutcome(rc, outcome, alert);
  }
  return { status: 200, json: feedback };
}

/** ECDSA P-256 with SHA-256 over the raw body; the signature is base64 of its DER encoding (GitHub's). */
export function verifySignature(rawBody: Buffer, signatureB64: string, key: Parameters<typeof verify>[2]): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signatureB64) || signatureB64.length > 1000) return false;
  try {
    return verify('sha256', rawBody, key, Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}

/** Raw body -> alerts, or 400 (not JSON) / 422 (not an array of {token, type, url, source}). */
export function parseAlerts(rawBody: Buffer): z.infer<typeof alertSchema>[] {
  let data: unknown;
  try {
    data = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new HttpError('SECRET_SCANNING.MALFORMED_JSON', 'The body is not valid JSON.');
  }
  const parsed = bodySchema.safeParse(data);
  if (!parsed.success) {
    throw new HttpError('SECRET_SCANNING.INVALID_REPORT', `The body must be a JSON array of 1 to ${MAX_ALERTS} alerts {token, type, url, source}.`, {
      fields: parsed.error.issues.slice(0, 10).map((i) => ({ field: i.path.join('.'), problem: i.message })),
    });
  }
  return parsed.data;
}

/** Never the token: the username it named, the label and where it was found. */
function logOutcome(rc: RequestContext, outcome: LeakOutcome, alert: { type?: string; url?: string; source?: string }): void {
  const where = { type: alert.type?.slice(0, 100), url: alert.url?.slice(0, 300), source: alert.source?.slice(0, 100) };
  if (outcome.label === 'false_positive') {
    rc.log.info({ code: 'SECRET_SCANNING_FALSE_POSITIVE', reason: outcome.reason, ...where }, `leak report: not a live password (${outcome.reason})`);
    return;
  }
  rc.log.warn(
    {
      code: 'SECRET_SCANNING_LEAK',
      workspace: outcome.workspace.name,
      account: outcome.account.name,
      username: outcome.account.username,
      policy: outcome.policy,
      action: outcome.action,
      ...where,
    },
    `leaked password of ${outcome.account.name}: ${outcome.action}`,
  );
}
