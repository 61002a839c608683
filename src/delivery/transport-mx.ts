// Direct delivery, when no smarthost is set: for each recipient domain, its MX hosts by preference
// (falling back to the domain's own A/AAAA records when it has no MX, RFC 5321 5.1), one SMTP transaction
// per domain, our HELO name, STARTTLS when offered (opportunistic: MX certificates are not verified, as
// is the norm between MTAs). A host that cannot be reached, or that turns us away before the envelope
// (a 421 or 554 greeting), hands over to the next one. Internal addresses (loopback, private, link-local…)
// are never connected to unless the operator allows them (mx-address-policy.ts, DELIVERY_ALLOW_PRIVATE_MX).
import { Resolver } from 'node:dns/promises';
import { LRUCache } from 'lru-cache';
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { Logger } from '../log.ts';
import { classifyError, oneLine, permanentFailure, temporaryFailure, type DeliveryFailure } from './classify.ts';
import { domainOf } from './hygiene.ts';
import { internalAddressReason } from './mx-address-policy.ts';
import { DEFAULT_TIMEOUTS, noDelaySocket, resultsOf, sendEnvelope, type RecipientResult, type Transport, type TransportTimeouts } from './transport.ts';

export interface MxRecord {
  exchange: string;
  priority: number;
}

/** DNS as delivery needs it. Injectable so tests can route a domain to a loopback server without real DNS. */
export interface MxResolver {
  /** Rejects with an error whose `code` is ENODATA (no MX) or ENOTFOUND (no such domain) like node:dns. */
  resolveMx(domain: string): Promise<MxRecord[]>;
  /** IPv4 and IPv6 addresses of a host. */
  resolveHost(host: string): Promise<string[]>;
}

/** The system's DNS servers, each query bounded by the resolver itself (5 s, two tries) rather than by a timer of ours. */
const dns = new Resolver({ timeout: 5_000, tries: 2 });

export const systemResolver: MxResolver = {
  resolveMx: (domain) => dns.resolveMx(domain),
  async resolveHost(host) {
    const [v4, v6] = await Promise.allSettled([dns.resolve4(host), dns.resolve6(host)]);
    const addresses = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
    if (addresses.length) return addresses;
    throw v4.status === 'rejected' ? v4.reason : v6.status === 'rejected' ? v6.reason : Object.assign(new Error(`no address for ${host}`), { code: 'ENODATA' });
  },
};

export interface MxOptions {
  heloName: string;
  resolver?: MxResolver;
  /** Port of the receiving servers: 25, or per exchange (tests). */
  port?: number | ((exchange: string) => number);
  timeouts?: Partial<TransportTimeouts>;
  /** Hosts tried per domain at most (MX hosts, then their addresses). */
  maxHostsPerDomain?: number;
  /**
   * Connect to loopback, private, link-local and other internal addresses too (DELIVERY_ALLOW_PRIVATE_MX):
   * tests and closed networks. Default false: such an MX is refused.
   */
  allowPrivateAddresses?: boolean;
  /** How long an MX answer (and a host's addresses) is reused; DNS failures are never kept. Default 60 s. */
  dnsCacheTtlMs?: number;
  log?: Logger;
}

/** Where a domain's mail goes (its MX records, or the domain itself when it has none), or why nowhere. */
type Route = { records: MxRecord[]; implicit: boolean } | DeliveryFailure;

/** Domains and hosts whose DNS answers a transport keeps at most (least recently used go first). */
const MAX_DNS_ANSWERS = 10_000;

const CONNECTION_STAGES = new Set(['CONN', 'EHLO', 'HELO', 'STARTTLS', 'greeting']);

export function createMxTransport(opts: MxOptions): Transport {
  const resolver = opts.resolver ?? systemResolver;
  const timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  const portOf = (exchange: string) => (typeof opts.port === 'function' ? opts.port(exchange) : (opts.port ?? 25));
  const maxHosts = opts.maxHostsPerDomain ?? 5;
  // A batch to one big provider asks DNS once per minute, not once per message. The system resolver keeps nothing.
  const dnsTtl = opts.dnsCacheTtlMs ?? 60_000;
  const routes = new LRUCache<string, Route>({ max: MAX_DNS_ANSWERS, ttl: dnsTtl });
  const hosts = new LRUCache<string, string[]>({ max: MAX_DNS_ANSWERS, ttl: dnsTtl });

  // Lookups in flight, shared by the slots that need the same domain at once (entries leave when they settle).
  const routesInFlight = new Map<string, Promise<Route>>();

  function routeOf(domain: string): Promise<Route> {
    const hit = routes.get(domain);
    if (hit) return Promise.resolve(hit);
    const pending = routesInFlight.get(domain);
    if (pending) return pending;
    const lookup = exchangesOf(domain)
      .then((route) => {
        // A temporary failure is asked again at the next attempt.
        if (!('kind' in route) || route.kind === 'permanent') routes.set(domain, route);
        return route;
      })
      .finally(() => routesInFlight.delete(domain));
    routesInFlight.set(domain, lookup);
    return lookup;
  }

  async function addressesOf(host: string): Promise<string[]> {
    const hit = hosts.get(host);
    if (hit) return hit;
    const addresses = await resolver.resolveHost(host);
    hosts.set(host, addresses);
    return addresses;
  }

  async function sendVia(exchange: string, address: string, from: string, to: string[], raw: Buffer): Promise<RecipientResult[]> {
    const options: SMTPTransport.Options = {
      host: address,
      port: portOf(exchange),
      secure: false,
      name: opts.heloName,
      tls: { rejectUnauthorized: false, ...(exchange !== address ? { servername: exchange } : {}) },
      connectionTimeout: timeouts.connectionMs,
      greetingTimeout: timeouts.greetingMs,
      socketTimeout: timeouts.socketMs,
      getSocket: noDelaySocket(timeouts.connectionMs),
      logger: false,
    };
    const transport = nodemailer.createTransport(options);
    try {
      const info = await transport.sendMail({ envelope: sendEnvelope({ from, to }, raw), raw });
      return resultsOf(to, { info });
    } catch (error) {
      return resultsOf(to, { error: withStage(error, exchange) });
    } finally {
      transport.close();
    }
  }

  /** Where mail for `domain` goes, best first; or a failure that applies to every recipient there. */
  async function exchangesOf(domain: string): Promise<Route> {
    let records: MxRecord[];
    try {
      records = await resolver.resolveMx(domain);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENODATA') return { records: [{ exchange: domain, priority: 0 }], implicit: true };
      if (code === 'ENOTFOUND') return permanentFailure(`domain ${domain} does not exist (DNS NXDOMAIN)`, '5.1.2', 'DNS_NXDOMAIN');
      return temporaryFailure(`DNS lookup of the MX of ${domain} failed (${code ?? (err as Error).message})`, '4.4.3', 'DNS_ERROR');
    }
    if (records.length === 0) return { records: [{ exchange: domain, priority: 0 }], implicit: true };
    // RFC 7505 null MX: the domain states that it accepts no mail.
    if (records.some((r) => r.exchange === '' || r.exchange === '.')) {
      return permanentFailure(`domain ${domain} accepts no mail (null MX)`, '5.1.10', 'DNS_NULL_MX');
    }
    return { records, implicit: false };
  }

  async function deliverToDomain(domain: string, from: string, to: string[], raw: Buffer): Promise<RecipientResult[]> {
    const all = (failure: DeliveryFailure): RecipientResult[] => to.map((address) => ({ address, delivered: false, failure }));
    const route = await routeOf(domain);
    if ('kind' in route) return all(route);
    let last: DeliveryFailure | undefined;
    let tried = 0;
    /** Internal addresses skipped, as "mx.example.test 10.0.0.1 (private network)". */
    const refused: string[] = [];
    for (const exchange of byPreference(route.records)) {
      let addresses: string[];
      try {
        addresses = await addressesOf(exchange);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (route.implicit && (code === 'ENOTFOUND' || code === 'ENODATA')) {
          return all(permanentFailure(`domain ${domain} has no MX and no A/AAAA record`, '5.1.2', 'DNS_NO_HOST'));
        }
        last = temporaryFailure(`DNS lookup of ${exchange} failed (${code ?? (err as Error).message})`, '4.4.3', 'DNS_ERROR');
        continue;
      }
      for (const address of addresses) {
        const internal = opts.allowPrivateAddresses ? null : internalAddressReason(address);
        if (internal) {
          refused.push(`${exchange} ${address} (${internal})`);
          opts.log?.warn({ code: 'MX_INTERNAL_ADDRESS_REFUSED', domain, exchange, address, reason: internal }, 'MX resolves to an internal address: not connecting');
          continue;
        }
        if (tried++ >= maxHosts) break;
        const results = await sendVia(exchange, address, from, to, raw);
        const failures = results.filter((r): r is Extract<RecipientResult, { delivered: false }> => !r.delivered);
        // The host never got as far as the envelope: try the next one.
        if (failures.length === results.length && failures.every((f) => f.failure.kind === 'temporary' && f.failure.replyCode === undefined)) {
          last = failures[0]?.failure;
          opts.log?.debug({ code: 'MX_HOST_UNREACHABLE', exchange, address, error: last?.message }, 'MX host unreachable, trying the next one');
          continue;
        }
        return results;
      }
    }
    // Every address there was is internal (and nothing failed for a reason that may pass): this will not change
    // by retrying, and the sender should hear why.
    if (!last && tried === 0 && refused.length) {
      return all(
        permanentFailure(`MX of ${domain} resolves only to internal addresses, which are not delivered to: ${refused.slice(0, 3).join(', ')}`, '5.4.4', 'MX_INTERNAL_ADDRESS'),
      );
    }
    return all(
      last
        ? { ...last, kind: 'temporary', message: oneLine(`no MX host of ${domain} could be reached: ${last.message}`) }
        : temporaryFailure(`no MX host of ${domain} could be reached`, '4.4.1', 'MX_UNREACHABLE'),
    );
  }

  return {
    description: `direct MX delivery (HELO ${opts.heloName})`,
    async send(envelope, raw) {
      const byDomain = new Map<string, string[]>();
      for (const address of envelope.to) {
        const d = domainOf(address);
        byDomain.set(d, [...(byDomain.get(d) ?? []), address]);
      }
      const parts = await Promise.all([...byDomain].map(([domain, to]) => deliverToDomain(domain, envelope.from, to, raw)));
      const byAddress = new Map(parts.flat().map((r) => [r.address, r]));
      return envelope.to.map((address) => byAddress.get(address)!);
    },
    async close() {},
  };
}

/** Exchange names, best preference first; equal preferences in a new random order each time (RFC 5321 5.1). */
function byPreference(records: readonly MxRecord[]): string[] {
  const shuffled = records.map((r) => ({ r, k: Math.random() }));
  shuffled.sort((a, b) => a.r.priority - b.r.priority || a.k - b.k);
  return shuffled.map((s) => s.r.exchange.replace(/\.$/, ''));
}

/** A reply at greeting/EHLO/STARTTLS ("421 too busy", "554 no service") is about the host, not the recipients: next host. */
function withStage(error: unknown, exchange: string): unknown {
  const e = error as { command?: string; responseCode?: number };
  if (e && typeof e === 'object' && e.command && CONNECTION_STAGES.has(e.command)) {
    const f = classifyError(error);
    return Object.assign(new Error(`${exchange}: ${f.message}`), { code: 'EHOST', stage: 'connection' });
  }
  return error;
}
