// Sending domains and the suppression list in Slack: the lists, the add-domain modal, and the DNS record to publish.
import { dnsRecordChunks, type DnsRecord, type DomainView, type Suppression } from '../../domain/index.ts';
import { formatDateTime } from '../../shared/format.ts';
import { ACTION, INPUT, VIEW } from '../ids.ts';
import { button, contextLine, esc, header, linesToSections, modal, plain, section, type Block, type ModalView } from './common.ts';

const STATE: Record<DomainView['state'], string> = {
  active: ':large_green_circle: Active',
  pending: ':large_yellow_circle: Pending DNS',
  rotating: ':arrows_counterclockwise: Rotating (new key pending DNS)',
};

export function domainListBlocks(domains: DomainView[], opts: { command: string; canAdd: boolean }): Block[] {
  const blocks: Block[] = [header(`Sending domains (${domains.length})`)];
  if (!domains.length) blocks.push(section('No sending domains yet: mail goes out without a DKIM signature.'));
  const lines = domains.map(
    (d) =>
      `*${esc(d.domain)}*  ${STATE[d.state]}  ·  signing with \`${d.signingSelector ?? '—'}\`  ·  last verified ${formatDateTime(d.lastVerifiedAt)}` +
      d.keys
        .filter((k) => k.state === 'pending')
        .map((k) => `\n      publish \`${esc(k.record.name)}\` (TXT), then \`smtpdesk domains verify ${esc(d.domain)}\``)
        .join(''),
  );
  blocks.push(...linesToSections(lines, '\n\n').slice(0, 45));
  if (opts.canAdd) blocks.push({ type: 'actions', elements: [button('Add domain', ACTION.addDomain, 'add', 'primary')] });
  blocks.push(contextLine(`Mail whose From: is one of these domains (or a subdomain) is DKIM-signed. \`${opts.command} domains add DOMAIN\` adds one (admins).`));
  return blocks;
}

export function addDomainModal(opts: { domain?: string; privateMetadata: string }): ModalView {
  const element: { type: 'plain_text_input'; action_id: string; placeholder: ReturnType<typeof plain>; initial_value?: string; max_length: number } = {
    type: 'plain_text_input',
    action_id: INPUT.domainName.action,
    placeholder: plain('e.g. acme.com'),
    max_length: 253,
  };
  if (opts.domain) element.initial_value = opts.domain;
  return modal({
    callbackId: VIEW.addDomain,
    title: 'Add sending domain',
    submit: 'Add',
    privateMetadata: opts.privateMetadata,
    blocks: [
      {
        type: 'input',
        block_id: INPUT.domainName.block,
        label: plain('Domain'),
        element,
        hint: plain('The domain of your From: addresses. Its subdomains are signed with the same key.'),
      },
      contextLine('smtpdesk makes an RSA 2048 key for it and shows the DNS record to publish.'),
    ],
  });
}

/** After adding (or rotating): the record, in a form that copies cleanly. */
export function dnsRecordModal(domain: string, record: DnsRecord): ModalView {
  return modal({
    callbackId: VIEW.notice,
    title: 'Publish DKIM record',
    blocks: [
      section(`:white_check_mark: *${esc(domain)}* has a new DKIM key. Mail from it is signed from now on. Publish this TXT record at your DNS provider:`),
      section(`*Name*\n\`\`\`${record.name}\`\`\``),
      section(`*Value*\n\`\`\`${record.value}\`\`\``),
      section(
        `*Zone file* (the value split in 255-character strings)\n\`\`\`${record.name}. IN TXT ( ${dnsRecordChunks(record)
          .map((c) => `"${c}"`)
          .join(' ')} )\`\`\``,
      ),
      contextLine(`Then run \`smtpdesk domains verify ${domain}\`: the key is marked active once DNS serves it. See docs/dkim.md.`),
    ],
  });
}

export function suppressionListBlocks(entries: Suppression[], opts: { command: string }): Block[] {
  if (!entries.length) return [section('The suppression list is empty: no address has hard-bounced.')];
  const lines = entries.map(
    (s) =>
      `\`${esc(s.address)}\` since ${formatDateTime(s.at)} — ${s.source === 'bounce' ? `hard bounce: ${esc(s.reason)}` : `added by ${esc(s.by ?? '?')}${s.reason ? `: ${esc(s.reason)}` : ''}`}`,
  );
  return [
    header(`Suppression list (${entries.length})`),
    ...linesToSections(lines).slice(0, 45),
    contextLine(`The relay refuses these recipients (550 5.1.1) at no cost to the quota. \`${opts.command} suppressions remove ADDRESS\` lets one through again (admins).`),
  ];
}
