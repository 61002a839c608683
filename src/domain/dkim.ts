// DKIM per sending domain: generating keys, the DNS record to publish, checking that it is published, key
// rotation, and which key signs. The private key exists in the clear only in memory, between generation and
// sealing, and in the worker's short-lived cache (src/delivery/dkim-signer.ts).
import { generateKeyPair } from 'node:crypto';
import { domainToASCII } from 'node:url';
import { promisify } from 'node:util';
import type { Actor } from './actor.ts';
import { describeActor } from './actor.ts';
import { recordChange } from './audit.ts';
import type { DomainContext } from './context.ts';
import type { DkimKey, SendingDomain, TxtResolver } from './dkim-model.ts';
import { DomainError } from './errors.ts';
import { authorize } from './permissions.ts';
import type { SecretBox } from './secret-box.ts';

export type * from './dkim-model.ts';

const generateRsa = promisify(generateKeyPair);

/** Sealing context of a private key: it opens only for this domain and selector. */
export const sealContext = (domain: string, selector: string) => `dkim:${domain}:${selector}`;

export interface DnsRecord {
  /** e.g. sd202612._domainkey.acme.test */
  name: string;
  type: 'TXT';
  /** e.g. v=DKIM1; k=rsa; p=MIIB… */
  value: string;
}

/** active: signing with a key seen in DNS; pending: its record is not seen yet; rotating: a new key waits for its record. */
export type DomainState = 'pending' | 'active' | 'rotating';

export interface DomainView {
  domain: string;
  state: DomainState;
  /** The key that signs now (see signingKey). */
  signingSelector: string | null;
  keys: { selector: string; state: DkimKey['state']; createdAt: Date; activatedAt?: Date; record: DnsRecord }[];
  createdAt: Date;
  createdBy: string;
  lastVerifiedAt?: Date;
}

export interface KeyCheck {
  selector: string;
  record: DnsRecord;
  /** What DNS answered at record.name (joined character-strings), or null when nothing / no DKIM record. */
  found: string | null;
  matches: boolean;
  problem?: string;
}

export function dnsRecord(domain: string, key: Pick<DkimKey, 'selector' | 'publicKey'>): DnsRecord {
  return { name: `${key.selector}._domainkey.${domain}`, type: 'TXT', value: `v=DKIM1; k=rsa; p=${key.publicKey}` };
}

/**
 * The record as character-strings of at most 255 bytes (RFC 1035), for zone files and DNS consoles that
 * take the quoted pieces: `"v=DKIM1; k=rsa; p=…" "…"`.
 */
export function dnsRecordChunks(record: DnsRecord): string[] {
  const out: string[] = [];
  for (let i = 0; i < record.value.length; i += 255) out.push(record.value.slice(i, i + 255));
  return out;
}

/** The key that signs: the active one; during a rotation the retiring one until the new one is seen; else the pending one. */
export function signingKey(d: Pick<SendingDomain, 'keys'>): DkimKey | undefined {
  return d.keys.find((k) => k.state === 'active') ?? d.keys.find((k) => k.state === 'retiring') ?? d.keys.find((k) => k.state === 'pending');
}

export function domainState(d: Pick<SendingDomain, 'keys'>): DomainState {
  const pending = d.keys.some((k) => k.state === 'pending');
  if (!pending) return 'active';
  return d.keys.some((k) => k.state === 'retiring' || k.state === 'active') ? 'rotating' : 'pending';
}

/** "mail.eu.acme.test" -> ["mail.eu.acme.test", "eu.acme.test", "acme.test"]: a parent domain's key signs for its subdomains. */
export function signingDomainCandidates(domain: string): string[] {
  const labels = domain.toLowerCase().replace(/\.$/, '').split('.').filter(Boolean);
  const out: string[] = [];
  for (let i = 0; i <= labels.length - 2; i++) out.push(labels.slice(i).join('.'));
  return out;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** A domain as stored: lower case, ASCII (punycode), at least two labels. */
export function normalizeDomainName(input: string | undefined): string {
  const raw = (input ?? '').trim().replace(/\.$/, '');
  const ascii = raw ? domainToASCII(raw.toLowerCase()) : '';
  const labels = ascii.split('.');
  if (!ascii || ascii.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels.at(-1)!)) {
    throw new DomainError('INPUT.INVALID', `"${raw}" is not a domain name (e.g. acme.com or mail.acme.com).`, { field: 'domain' });
  }
  return ascii;
}

/** Dated selectors, e.g. sd202612; a second key in the same month gets a letter: sd202612b. */
export function nextSelector(now: Date, taken: readonly string[]): string {
  const base = `sd${now.toISOString().slice(0, 7).replace('-', '')}`;
  if (!taken.includes(base)) return base;
  for (let c = 98; c <= 122; c++) {
    const s = `${base}${String.fromCharCode(c)}`;
    if (!taken.includes(s)) return s;
  }
  return `${base}${Date.now().toString(36)}`;
}

function requireSecrets(ctx: DomainContext): SecretBox {
  if (!ctx.secrets) {
    throw new DomainError(
      'DKIM.SECRET_KEY_MISSING',
      'SMTPDESK_SECRET_KEY is not set: DKIM private keys are stored encrypted with it. Generate one with `openssl rand -base64 32` and set it for every smtpdesk process.',
    );
  }
  return ctx.secrets;
}

async function newKey(ctx: DomainContext, secrets: SecretBox, domain: string, taken: readonly string[]): Promise<DkimKey> {
  const now = ctx.clock();
  const selector = nextSelector(now, taken);
  const { publicKey, privateKey } = await generateRsa('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    selector,
    state: 'pending',
    publicKey: (publicKey as Buffer).toString('base64'),
    sealedPrivateKey: secrets.seal(privateKey, sealContext(domain, selector)),
    createdAt: now,
  };
}

export function domainView(d: SendingDomain): DomainView {
  const view: DomainView = {
    domain: d.domain,
    state: domainState(d),
    signingSelector: signingKey(d)?.selector ?? null,
    keys: d.keys.map((k) => ({
      selector: k.selector,
      state: k.state,
      createdAt: k.createdAt,
      ...(k.activatedAt ? { activatedAt: k.activatedAt } : {}),
      record: dnsRecord(d.domain, k),
    })),
    createdAt: d.createdAt,
    createdBy: d.createdBy,
  };
  if (d.lastVerifiedAt) view.lastVerifiedAt = d.lastVerifiedAt;
  return view;
}

async function findDomainOrThrow(ctx: DomainContext, workspaceId: string, name: string): Promise<SendingDomain> {
  const domain = normalizeDomainName(name);
  const found = await ctx.domains.findByName(domain);
  // Another workspace's domain reads as unknown here.
  if (!found || found.workspaceId !== workspaceId) {
    throw new DomainError('DOMAIN.NOT_FOUND', `No sending domain "${domain}" in this workspace. Add it with \`domains add ${domain}\`.`, { domain });
  }
  return found;
}

/** Registers a sending domain with a new key; the caller shows `record` to publish. */
export async function addSendingDomain(ctx: DomainContext, actor: Actor, workspaceId: string, name: string): Promise<{ domain: DomainView; record: DnsRecord }> {
  authorize(actor, 'domain.manage');
  const domain = normalizeDomainName(name);
  const secrets = requireSecrets(ctx);
  if (await ctx.domains.findByName(domain)) throw domainExists(domain);
  const key = await newKey(ctx, secrets, domain, []);
  const stored: SendingDomain = { domain, workspaceId, keys: [key], createdAt: ctx.clock(), createdBy: describeActor(actor) };
  await ctx.domains.insert(stored);
  await recordChange(ctx, actor, 'domain.added', workspaceId, { details: { domain, selector: key.selector } });
  return { domain: domainView(stored), record: dnsRecord(domain, key) };
}

export async function listSendingDomains(ctx: DomainContext, actor: Actor, workspaceId: string): Promise<DomainView[]> {
  authorize(actor, 'domain.list');
  const all = await ctx.domains.listByWorkspace(workspaceId);
  return all.map(domainView).sort((a, b) => a.domain.localeCompare(b.domain));
}

export async function showSendingDomain(ctx: DomainContext, actor: Actor, workspaceId: string, name: string): Promise<DomainView> {
  authorize(actor, 'domain.list');
  return domainView(await findDomainOrThrow(ctx, workspaceId, name));
}

/**
 * Looks up each key's TXT record. A pending key whose record matches becomes active; a key it replaces
 * (retiring, or a previous active one) is dropped then, so the old record may be removed from DNS.
 */
export async function verifySendingDomain(
  ctx: DomainContext,
  actor: Actor,
  workspaceId: string,
  name: string,
  resolveTxt: TxtResolver,
): Promise<{ domain: DomainView; checks: KeyCheck[]; activated: string[]; retired: string[] }> {
  authorize(actor, 'domain.list');
  const d = await findDomainOrThrow(ctx, workspaceId, name);
  const checks = await Promise.all(d.keys.map((k) => checkKey(d.domain, k, resolveTxt)));
  const now = ctx.clock();
  const newest = [...d.keys].filter((k, i) => k.state === 'pending' && checks[i]!.matches).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
  let keys = d.keys;
  const activated: string[] = [];
  const retired: string[] = [];
  if (newest) {
    activated.push(newest.selector);
    keys = [];
    for (const k of d.keys) {
      if (k === newest) keys.push({ ...k, state: 'active', activatedAt: now });
      else if (k.state === 'pending' && k.createdAt > newest.createdAt) keys.push(k);
      else retired.push(k.selector);
    }
  }
  const updated = (await ctx.domains.setKeys(d.domain, keys, now)) ?? { ...d, keys, lastVerifiedAt: now };
  if (activated.length) {
    await recordChange(ctx, actor, 'domain.verified', workspaceId, { details: { domain: d.domain, activated: activated[0], retired } });
  }
  return { domain: domainView(updated), checks, activated, retired };
}

async function checkKey(domain: string, key: DkimKey, resolveTxt: TxtResolver): Promise<KeyCheck> {
  const record = dnsRecord(domain, key);
  let answers: string[][];
  try {
    answers = await resolveTxt(record.name);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const problem = code === 'ENOTFOUND' || code === 'ENODATA' ? 'no TXT record at this name yet' : `DNS lookup failed: ${(err as Error).message}`;
    return { selector: key.selector, record, found: null, matches: false, problem };
  }
  const dkim = answers.map((chunks) => chunks.join('')).filter((t) => /(^|;)\s*(v=DKIM1|p=)/i.test(t));
  if (dkim.length === 0) return { selector: key.selector, record, found: null, matches: false, problem: 'no DKIM record at this name yet' };
  const found = dkim[0]!;
  const p = dkim.map((t) => dkimTags(t).get('p') ?? '');
  if (p.includes(key.publicKey)) return { selector: key.selector, record, found: dkim[p.indexOf(key.publicKey)]!, matches: true };
  return { selector: key.selector, record, found, matches: false, problem: 'the published p= is not this key (copied incompletely, or an old key?)' };
}

/** "v=DKIM1; k=rsa; p=AB CD" -> tags, whitespace removed from values (RFC 6376 3.2). */
export function dkimTags(text: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of text.split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    tags.set(part.slice(0, i).trim().toLowerCase(), part.slice(i + 1).replace(/\s+/g, ''));
  }
  return tags;
}

/**
 * Makes a new key (pending). The key it will replace becomes retiring and keeps signing until the new
 * record is published and `verify` sees it; then it is dropped.
 */
export async function rotateSendingDomainKey(ctx: DomainContext, actor: Actor, workspaceId: string, name: string): Promise<{ domain: DomainView; record: DnsRecord }> {
  authorize(actor, 'domain.manage');
  const secrets = requireSecrets(ctx);
  const d = await findDomainOrThrow(ctx, workspaceId, name);
  const key = await newKey(
    ctx,
    secrets,
    d.domain,
    d.keys.map((k) => k.selector),
  );
  // A pending key that never verified is replaced outright: nobody can have it published as the key in use.
  const previous = d.keys.filter((k) => k.state !== 'pending').map((k): DkimKey => (k.state === 'active' ? { ...k, state: 'retiring' } : k));
  const keys = [...previous, key];
  const updated = (await ctx.domains.setKeys(d.domain, keys)) ?? { ...d, keys };
  await recordChange(ctx, actor, 'domain.key_rotated', workspaceId, { details: { domain: d.domain, selector: key.selector } });
  return { domain: domainView(updated), record: dnsRecord(d.domain, key) };
}

export async function removeSendingDomain(ctx: DomainContext, actor: Actor, workspaceId: string, name: string): Promise<DomainView> {
  authorize(actor, 'domain.manage');
  const d = await findDomainOrThrow(ctx, workspaceId, name);
  await ctx.domains.delete(d.domain);
  await recordChange(ctx, actor, 'domain.removed', workspaceId, { details: { domain: d.domain } });
  return domainView(d);
}

function domainExists(domain: string): DomainError {
  return new DomainError('DOMAIN.EXISTS', `The domain "${domain}" is registered already.`, { domain });
}
export { domainExists as domainExistsError };

/** For the worker's signer: the private key in the clear (PEM), or throws when it cannot be opened. */
export function openPrivateKey(secrets: SecretBox, domain: string, key: DkimKey): string {
  return secrets.open(key.sealedPrivateKey, sealContext(domain, key.selector));
}

/**
 * Why a relay or worker must not start: DKIM keys exist that it could not open (or, for the relay, that the
 * worker beside it could not). Null when it may start.
 */
export async function secretKeyProblem(ctx: DomainContext): Promise<string | null> {
  if (ctx.secrets || !(await ctx.domains.any())) return null;
  return 'SMTPDESK_SECRET_KEY is not set, but sending domains with DKIM keys exist: set the key they were sealed with (see docs/dkim.md).';
}
