// smtpdesk domains …: sending domains and their DKIM keys.
import { Resolver } from 'node:dns/promises';
import {
  addSendingDomain,
  dnsRecordChunks,
  listSendingDomains,
  removeSendingDomain,
  rotateSendingDomainKey,
  showSendingDomain,
  verifySendingDomain,
  DomainError,
  type DnsRecord,
  type DomainView,
} from '../../domain/index.ts';
import { formatDate, formatDateTime } from '../../shared/format.ts';
import { requireArg, type CliCommand } from '../command.ts';
import { renderFields, renderTable } from '../table.ts';

const STATE: Record<DomainView['state'], string> = { active: 'Active', pending: 'Pending DNS', rotating: 'Rotating (new key pending DNS)' };

function recordText(record: DnsRecord): string {
  const zone = `${record.name}. IN TXT ( ${dnsRecordChunks(record)
    .map((c) => `"${c}"`)
    .join(' ')} )`;
  return [
    'Publish this DNS record:',
    '',
    renderFields([
      ['Type', record.type],
      ['Name', record.name],
      ['Value', record.value],
    ]),
    '',
    'In a zone file (the value split in 255-character strings, as DNS requires):',
    zone,
  ].join('\n');
}

export function domainJson(d: DomainView) {
  return {
    domain: d.domain,
    state: d.state,
    signingSelector: d.signingSelector,
    keys: d.keys.map((k) => ({ selector: k.selector, state: k.state, createdAt: k.createdAt.toISOString(), activatedAt: k.activatedAt?.toISOString() ?? null, record: k.record })),
    createdAt: d.createdAt.toISOString(),
    createdBy: d.createdBy,
    lastVerifiedAt: d.lastVerifiedAt?.toISOString() ?? null,
  };
}

const add: CliCommand = {
  path: ['domains', 'add'],
  summary: 'Add a sending domain: makes its DKIM key and prints the DNS record to publish',
  args: 'DOMAIN',
  async run(cli, pos) {
    const ws = await cli.workspace();
    const { domain, record } = await addSendingDomain(await cli.domain(), cli.actor, ws.id, requireArg(pos, 0, 'DOMAIN'));
    if (cli.json) return { ...domainJson(domain), record };
    cli.print(
      [
        `Added ${domain.domain} with a new DKIM key (RSA 2048, selector ${record.name.split('.')[0]}). Mail from ${domain.domain} and its subdomains is signed from now on.`,
        '',
        recordText(record),
        '',
        `Then check it: smtpdesk domains verify ${domain.domain}`,
      ].join('\n'),
    );
  },
};

const list: CliCommand = {
  path: ['domains', 'list'],
  summary: 'List the sending domains with their DKIM state',
  async run(cli) {
    const ws = await cli.workspace();
    const domains = await listSendingDomains(await cli.domain(), cli.actor, ws.id);
    if (cli.json) return domains.map(domainJson);
    if (!domains.length) return cli.print('No sending domains yet. Add one with: smtpdesk domains add DOMAIN');
    cli.print(
      renderTable(domains, [
        { header: 'DOMAIN', value: (d) => d.domain },
        { header: 'STATE', value: (d) => STATE[d.state] },
        { header: 'SIGNING WITH', value: (d) => d.signingSelector ?? '—' },
        { header: 'LAST VERIFIED', value: (d) => formatDateTime(d.lastVerifiedAt) },
        { header: 'ADDED', value: (d) => formatDate(d.createdAt) },
      ]),
    );
  },
};

const show: CliCommand = {
  path: ['domains', 'show'],
  summary: 'Show a sending domain, its keys and the DNS records to publish',
  args: 'DOMAIN',
  async run(cli, pos) {
    const ws = await cli.workspace();
    const d = await showSendingDomain(await cli.domain(), cli.actor, ws.id, requireArg(pos, 0, 'DOMAIN'));
    if (cli.json) return domainJson(d);
    const lines = [
      renderFields([
        ['Domain', d.domain],
        ['State', STATE[d.state]],
        ['Signing with', d.signingSelector ?? '—'],
        ['Last verified', formatDateTime(d.lastVerifiedAt)],
        ['Added', `${formatDateTime(d.createdAt)} by ${d.createdBy}`],
      ]),
    ];
    for (const k of d.keys) {
      lines.push('', `Key ${k.selector} (${k.state}${k.state === 'retiring' ? ': keep its record published until the new key verifies' : ''}):`, recordText(k.record));
    }
    cli.print(lines.join('\n'));
  },
};

const verify: CliCommand = {
  path: ['domains', 'verify'],
  summary: "Look up the domain's DKIM records in DNS; a new key that is published becomes active",
  args: 'DOMAIN',
  async run(cli, pos) {
    const ws = await cli.workspace();
    const servers = (await cli.runtime()).config.delivery.dkimVerifyDnsServers;
    // DKIM_VERIFY_DNS_SERVERS: e.g. the zone's own name server, to check before resolvers' caches catch up.
    const resolver = new Resolver({ timeout: 5_000, tries: 2 });
    if (servers.length) resolver.setServers(servers);
    const r = await verifySendingDomain(await cli.domain(), cli.actor, ws.id, requireArg(pos, 0, 'DOMAIN'), (name) => resolver.resolveTxt(name));
    if (cli.json) return { ...domainJson(r.domain), checks: r.checks, activated: r.activated, retired: r.retired };
    const lines = r.checks.map((c) => `${c.matches ? '✓' : '✗'} ${c.record.name}: ${c.matches ? 'published and matches' : c.problem}`);
    if (r.activated.length) lines.push('', `Key ${r.activated[0]} is active and signs from now on.`);
    if (r.retired.length) lines.push(`Key(s) ${r.retired.join(', ')} retired: their DNS records may be removed.`);
    if (!r.checks.some((c) => c.matches)) lines.push('', 'Nothing matches yet: DNS changes can take a while to appear. Run this again later.');
    cli.print(lines.join('\n'));
    // A script (or a person re-running it) sees from the exit status that nothing is published yet.
    if (!r.checks.some((c) => c.matches)) throw new DomainError('DKIM.NOT_PUBLISHED', `no DKIM record of ${r.domain.domain} is published yet`, { domain: r.domain.domain });
  },
};

const rotate: CliCommand = {
  path: ['domains', 'rotate-key'],
  summary: 'Make a new DKIM key; the current one keeps signing until the new record verifies',
  args: 'DOMAIN',
  async run(cli, pos) {
    const ws = await cli.workspace();
    const { domain, record } = await rotateSendingDomainKey(await cli.domain(), cli.actor, ws.id, requireArg(pos, 0, 'DOMAIN'));
    if (cli.json) return { ...domainJson(domain), record };
    cli.print(
      [
        `New key ${record.name.split('.')[0]} for ${domain.domain}. ${domain.signingSelector ? `Key ${domain.signingSelector} keeps signing (leave its record published) until the new one verifies.` : ''}`.trim(),
        '',
        recordText(record),
        '',
        `Then: smtpdesk domains verify ${domain.domain}`,
      ].join('\n'),
    );
  },
};

const remove: CliCommand = {
  path: ['domains', 'remove'],
  summary: 'Remove a sending domain and its keys (its mail goes out unsigned)',
  args: 'DOMAIN',
  async run(cli, pos) {
    const ws = await cli.workspace();
    const d = await removeSendingDomain(await cli.domain(), cli.actor, ws.id, requireArg(pos, 0, 'DOMAIN'));
    if (cli.json) return { domain: d.domain, removed: true };
    cli.print(`Removed ${d.domain}. Its mail goes out unsigned from now on; its DNS records may be removed.`);
  },
};

export const domainCommands: CliCommand[] = [add, list, show, verify, rotate, remove];
