// The modals: create, rotate, disable, enable, delete, and the loading / result / error notices.
import type { types } from '@slack/bolt';
import {
  ACCOUNT_NAME_MAX_LENGTH,
  DISABLE_REASONS,
  NAMING_CONVENTIONS,
  NAMING_HINT,
  describeAllowedSenders,
  formatRateLimit,
  type AccountView,
  type DeletePreview,
  type DisableReason,
} from '../../domain/index.ts';
import { formatAgo, formatCount, formatDateTime, humanReason } from '../../shared/format.ts';
import { FORCE_DELETE_VALUE, INPUT, VIEW } from '../ids.ts';
import { accountStats, accountTitle } from './accounts.ts';
import { contextLine, esc, md, modal, plain, section, type Block, type ModalView } from './common.ts';

export function noticeModal(title: string, text: string, privateMetadata?: string): ModalView {
  return modal({ callbackId: VIEW.notice, title, blocks: [section(text)], privateMetadata });
}

export function loadingModal(title: string): ModalView {
  return noticeModal(title, ':hourglass_flowing_sand: Loading…');
}

export function workingModal(title: string): ModalView {
  return noticeModal(title, ':hourglass_flowing_sand: Working on it… this takes longer than usual. This window will show the result.');
}

export function createModal(opts: { name?: string; privateMetadata: string }): ModalView {
  const input: types.PlainTextInput = {
    type: 'plain_text_input',
    action_id: INPUT.createName.action,
    max_length: ACCOUNT_NAME_MAX_LENGTH + 20,
    placeholder: plain('e.g. production-transactional'),
  };
  if (opts.name) input.initial_value = opts.name;
  const examples = NAMING_CONVENTIONS.map((c) => `• *${c.basis}*: ${c.example}`).join('\n');
  const blocks: Block[] = [
    { type: 'input', block_id: INPUT.createName.block, label: plain('Account name'), element: input, hint: plain(NAMING_HINT, 2000) },
    section(`*Naming conventions* — name accounts by:\n${examples}`),
    contextLine('The username and password are shown once, only to you, right after you press Create.'),
  ];
  return modal({ callbackId: VIEW.create, title: 'New SMTP account', submit: 'Create', blocks, privateMetadata: opts.privateMetadata });
}

function accountSummaryBlock(a: AccountView, now: Date): Block {
  return section(`${accountTitle(a)}\n${accountStats(a, now)}`);
}

/** How long the rotate modal may keep the old password (value: milliseconds). */
export const KEEP_OLD_CHOICES: readonly { label: string; ms: number }[] = [
  { label: 'No: it stops at once', ms: 0 },
  { label: '1 hour', ms: 3_600_000 },
  { label: '24 hours', ms: 86_400_000 },
  { label: '7 days', ms: 7 * 86_400_000 },
];

export function rotateModal(a: AccountView, now: Date, privateMetadata: string): ModalView {
  const options = KEEP_OLD_CHOICES.map((c) => ({ text: plain(c.label), value: String(c.ms) }));
  return modal({
    callbackId: VIEW.rotate,
    title: 'Rotate password',
    submit: 'Rotate',
    privateMetadata,
    blocks: [
      accountSummaryBlock(a, now),
      section(
        `:warning: A new password is generated and shown once, only to you. Unless you keep it below, *the current password stops working at once*: every application using \`${a.username}\` must be updated.`,
      ),
      {
        type: 'input',
        block_id: INPUT.rotateKeepOld.block,
        label: plain('Keep the old password working'),
        optional: true,
        element: { type: 'static_select', action_id: INPUT.rotateKeepOld.action, options, initial_option: options[0] },
        hint: plain('While your applications switch to the new one. A disable ends both at once. After a leak, choose No.'),
      },
    ],
  });
}

/** Allowed senders and rate limit of an account. */
export function limitsModal(a: AccountView, now: Date, privateMetadata: string): ModalView {
  const senders: types.PlainTextInput = {
    type: 'plain_text_input',
    action_id: INPUT.limitsSenders.action,
    multiline: true,
    max_length: 2500,
    placeholder: plain('noreply@acme.test, *@billing.acme.test'),
  };
  if (a.allowedSenders.length) senders.initial_value = describeAllowedSenders(a.allowedSenders);
  const rate: types.PlainTextInput = { type: 'plain_text_input', action_id: INPUT.limitsRate.action, max_length: 20, placeholder: plain('e.g. 100/h') };
  if (a.rateLimit) rate.initial_value = formatRateLimit(a.rateLimit);
  return modal({
    callbackId: VIEW.limits,
    title: 'Sending limits',
    submit: 'Save',
    privateMetadata,
    blocks: [
      accountSummaryBlock(a, now),
      {
        type: 'input',
        block_id: INPUT.limitsSenders.block,
        label: plain('Allowed senders'),
        optional: true,
        element: senders,
        hint: plain(
          'Envelope and header From: must match one: an address (noreply@acme.test), a domain (acme.test or *@acme.test, not its subdomains), or *.acme.test (its subdomains). Empty: any sender.',
          2000,
        ),
      },
      {
        type: 'input',
        block_id: INPUT.limitsRate.block,
        label: plain('Rate limit (recipients)'),
        optional: true,
        element: rate,
        hint: plain('Per minute, hour or day, shared by every relay: 5/m, 100/h, 20000/d. Empty: no limit. Over it the relay answers 451 4.7.1 with when to retry.'),
      },
      allowedNetworksInput(a),
    ],
  });
}

export function enableModal(a: AccountView, now: Date, privateMetadata: string): ModalView {
  const why = a.disabled
    ? `\nDisabled ${formatDateTime(a.disabled.at)} by ${esc(a.disabled.by)}: *${humanReason(a.disabled.reason)}*${a.disabled.note ? ` — “${esc(a.disabled.note)}”` : ''}`
    : '';
  return modal({
    callbackId: VIEW.enable,
    title: 'Enable account',
    submit: 'Enable',
    privateMetadata,
    blocks: [accountSummaryBlock(a, now), section(`Enable it again with the same username, password and statistics?${why}`)],
  });
}

const REASON_LABEL: Record<DisableReason, string> = {
  maintenance: 'Maintenance',
  suspected_compromise: 'Suspected compromise',
  reputation: 'Reputation (bounces or complaints)',
  decommissioning: 'Decommissioning',
  other: 'Other (explain below)',
  leaked: 'Password leaked (enable only after a rotate)',
};

export function disableModal(a: AccountView, now: Date, opts: { reason?: DisableReason; note?: string; privateMetadata: string }): ModalView {
  const options = DISABLE_REASONS.map((r) => ({ text: plain(REASON_LABEL[r]), value: r }));
  const select: types.StaticSelect = { type: 'static_select', action_id: INPUT.disableReason.action, options, placeholder: plain('Choose a reason') };
  const initial = options.find((o) => o.value === opts.reason);
  if (initial) select.initial_option = initial;
  const note: types.PlainTextInput = { type: 'plain_text_input', action_id: INPUT.disableNote.action, multiline: true, max_length: 500 };
  if (opts.note) note.initial_value = opts.note;
  return modal({
    callbackId: VIEW.disable,
    title: 'Disable account',
    submit: 'Disable',
    privateMetadata: opts.privateMetadata,
    blocks: [
      accountSummaryBlock(a, now),
      section('Mail from this account is refused from the next login on; a session already open cannot send another message. Enabling it later restores the same credentials.'),
      { type: 'input', block_id: INPUT.disableReason.block, label: plain('Reason'), element: select },
      {
        type: 'input',
        block_id: INPUT.disableNote.block,
        label: plain('Details'),
        element: note,
        optional: true,
        hint: plain('Shown in the alert channel and the audit log. Never paste a password here.'),
      },
    ],
  });
}

export function deleteModal(p: DeletePreview, opts: { now: Date; idleAfterDays: number; privateMetadata: string }): ModalView {
  const a = p.account;
  const blocks: Block[] = [
    section(accountTitle(a)),
    {
      type: 'section',
      fields: [
        md(`*Last used*\n${a.lastUsedAt ? `${formatAgo(a.lastUsedAt, opts.now)} (${formatDateTime(a.lastUsedAt)})` : 'never'}`),
        md(`*Total sent*\n${formatCount(a.counters.sent)}`),
        md(`*Queued messages*\n${formatCount(p.queuedMessages)}`),
        md(`*Sent this month*\n${formatCount(a.sentThisMonth)}`),
      ],
    },
  ];
  if (p.usedRecently) {
    blocks.push(section(`:warning: *It sent mail within the last ${opts.idleAfterDays} days*: an application may still depend on it.`));
  }
  if (p.queuedMessages > 0) {
    blocks.push(section(`:warning: *${formatCount(p.queuedMessages)} message(s) are still queued* for it and may never be delivered if you delete it now.`));
  }
  blocks.push(section('Deleting is permanent: the username is never reused, and the emails it sent this month still count against the quota.'), {
    type: 'input',
    block_id: INPUT.deleteConfirm.block,
    label: plain(`Type "${a.name}" to confirm`),
    element: { type: 'plain_text_input', action_id: INPUT.deleteConfirm.action, placeholder: plain(a.name) },
  });
  if (p.queuedMessages > 0) {
    blocks.push({
      type: 'input',
      block_id: INPUT.deleteForce.block,
      label: plain('Queued mail'),
      optional: true,
      element: {
        type: 'checkboxes',
        action_id: INPUT.deleteForce.action,
        options: [{ text: plain(`Delete anyway, dropping ${p.queuedMessages} queued message(s)`), value: FORCE_DELETE_VALUE }],
      },
    });
  }
  return modal({ callbackId: VIEW.delete, title: 'Delete account', submit: 'Delete', privateMetadata: opts.privateMetadata, blocks });
}

/** Allowed networks (issue 18): AUTH only from these CIDR ranges; the relay answers 535 from elsewhere. */
function allowedNetworksInput(a: AccountView): types.InputBlock {
  const element: types.PlainTextInput = {
    type: 'plain_text_input',
    action_id: INPUT.limitsNetworks.action,
    multiline: true,
    max_length: 2500,
    placeholder: plain('203.0.113.0/24, 2001:db8::/32'),
  };
  if (a.allowedNetworks?.length) element.initial_value = a.allowedNetworks.join(', ');
  return {
    type: 'input',
    block_id: INPUT.limitsNetworks.block,
    label: plain('Allowed networks'),
    optional: true,
    element,
    hint: plain('AUTH is accepted only from these addresses or CIDR ranges (IPv4 and IPv6); from elsewhere the right password gets 535. Empty: anywhere.', 2000),
  };
}
