// Signs outgoing messages with the DKIM key of their header From: domain (or of a parent domain), with
// nodemailer's own signer (relaxed/relaxed, rsa-sha256, the usual headers). Keys come through an lru-cache keyed
// by domain (DELIVERY_DKIM_CACHE_SECONDS, default 30 s; at most 10,000 domains), so the worker pays no database
// round trip per message: a domain without a key is cached as such too. Decrypted keys live in this cache only, never in logs.
import { LRUCache } from 'lru-cache';
import DKIM from 'nodemailer/lib/dkim/index.js';
import { openPrivateKey, signingDomainCandidates, signingKey, type SecretBox, type SendingDomainRepository } from '../domain/index.ts';
import type { Logger } from '../log.ts';
import { lruClock } from '../shared/lru-clock.ts';
import { authorAddress, headerFields } from '../shared/mail-headers.ts';
import { domainOf } from './hygiene.ts';

export interface DkimSigner {
  /**
   * `raw` signed when its From: domain has a key this message may use, else `raw` itself. A message is signed by
   * a domain of its own workspace; a bounce the worker wrote (From: MAILER-DAEMON@DELIVERY_HELO_NAME) by the
   * relay's domain, whichever workspace registered it. Never throws.
   */
  sign(message: { workspaceId: string; kind?: string | null }, raw: Buffer): Promise<Buffer>;
}

interface SigningEntry {
  domain: string;
  workspaceId: string;
  selector: string;
  privateKey: string;
}

/** A domain's key, or null when it has none (lru-cache holds no null, so it is boxed). */
interface Cached {
  entry: SigningEntry | null;
}

export interface DkimSignerOptions {
  domains: Pick<SendingDomainRepository, 'findByNames'>;
  secrets?: SecretBox;
  ttlMs: number;
  log: Logger;
  now?: () => number;
}

const MAX_CACHED = 10_000;

export function createDkimSigner(opts: DkimSignerOptions): DkimSigner {
  // Past its TTL an entry is reloaded, but kept until then: a store that does not answer leaves the stale key in use.
  const cache = new LRUCache<string, Cached>({ max: MAX_CACHED, ttl: opts.ttlMs, noDeleteOnStaleGet: true, ...lruClock(opts.now) });
  // Loads under way, by domain: one message's candidates (a.b.acme.test, b.acme.test, acme.test) are read with one
  // query, and a message that needs a domain being loaded waits for that load. Each entry leaves when its load ends.
  const loading = new Map<string, Promise<void>>();

  async function load(domains: string[]): Promise<void> {
    let found;
    try {
      found = await opts.domains.findByNames(domains);
    } catch (err) {
      // Keep what we had (stale) rather than sign nothing; retried at the next message.
      opts.log.warn({ code: 'DKIM_LOOKUP_FAILED', domains, err: { message: (err as Error).message } }, 'could not read DKIM keys; using the cached ones');
      return;
    }
    for (const d of domains) cache.set(d, { entry: null });
    for (const d of found) {
      const key = signingKey(d);
      if (!key) continue;
      if (!opts.secrets) {
        opts.log.error(
          { code: 'DKIM_KEY_UNAVAILABLE', domain: d.domain, selector: key.selector, reason: 'SMTPDESK_SECRET_KEY is not set' },
          'cannot sign: no secret key to open the DKIM key',
        );
        continue;
      }
      try {
        const privateKey = openPrivateKey(opts.secrets, d.domain, key);
        cache.set(d.domain, { entry: { domain: d.domain, workspaceId: d.workspaceId, selector: key.selector, privateKey } });
      } catch {
        opts.log.error(
          { code: 'DKIM_KEY_UNAVAILABLE', domain: d.domain, selector: key.selector, reason: 'the key does not open with SMTPDESK_SECRET_KEY' },
          'cannot sign: the DKIM key was sealed with another secret key',
        );
      }
    }
  }

  async function entriesFor(candidates: string[]): Promise<(SigningEntry | null)[]> {
    // has() is false for a missing or stale entry (and keeps the stale one for the read below).
    const stale = candidates.filter((d) => !cache.has(d));
    if (stale.length) {
      const waits = stale.map((d) => loading.get(d)).filter((p): p is Promise<void> => p !== undefined);
      const missing = stale.filter((d) => !loading.has(d));
      if (missing.length) {
        const p = load(missing).finally(() => missing.forEach((d) => loading.delete(d)));
        missing.forEach((d) => loading.set(d, p));
        waits.push(p);
      }
      await Promise.all(waits);
    }
    return candidates.map((d) => cache.get(d, { allowStale: true })?.entry ?? null);
  }

  return {
    async sign(message, raw) {
      const from = headerFromDomain(raw);
      if (!from) return raw;
      const candidates = signingDomainCandidates(from);
      if (!candidates.length) return raw;
      try {
        const entries = await entriesFor(candidates);
        // The closest domain with a key this message may use.
        const entry = entries.find((e) => e && (e.workspaceId === message.workspaceId || message.kind === 'bounce'));
        if (!entry) return raw;
        return await signWith(entry, raw);
      } catch (err) {
        opts.log.error({ code: 'DKIM_SIGN_FAILED', domain: from, err: { message: (err as Error).message } }, 'could not sign the message; sent unsigned');
        return raw;
      }
    },
  };
}

function signWith(entry: SigningEntry, raw: Buffer): Promise<Buffer> {
  const signer = new DKIM({ domainName: entry.domain, keySelector: entry.selector, privateKey: entry.privateKey });
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const out = signer.sign(raw);
    out.on('data', (c: Buffer) => parts.push(c));
    out.on('error', reject);
    out.on('end', () => resolve(Buffer.concat(parts)));
  });
}

/**
 * The domain of the header From: address, lower case and ASCII (punycode), read by shared/mail-headers.ts as the
 * relay's sender guard reads it; undefined when there is no From:, more than one, or no valid first address.
 */
export function headerFromDomain(raw: Buffer): string | undefined {
  const address = authorAddress(headerFields(raw));
  if (!address) return undefined;
  const domain = domainOf(address);
  return /^[a-z0-9.-]+$/.test(domain) ? domain : undefined;
}
