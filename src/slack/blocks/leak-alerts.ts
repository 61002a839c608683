// Block Kit of the leaked-credential alerts (issue 18): a leak report ("where it leaked", with Rotate and
// Disable), repeated AUTHs from outside an account's allowed networks (Disable and Expected), and the daily
// credential-hygiene digest (Rotate and Disable per account). Rotate and Disable are the account buttons of
// every other message (ACTION.rotate / ACTION.disable, value = account name, built with the shared button()):
// they open the same modals, with the same role checks and confirmation.
import type { DomainEvent, HygieneFinding, HygieneKind } from '../../domain/index.ts';
import { formatDateTime } from '../../shared/format.ts';
import { ACTION } from '../ids.ts';
import { button, contextLine, esc, header, section, type Block } from './common.ts';
import type { AlertMessage } from './job-alerts.ts';

/** block_actions of these alerts that no other message has. */
export const LEAK_ACTION = {
  /** "Expected" on a network-refusal alert; value: JSON {w: workspace id, a: account id, n: name}. */
  networkExpected: 'smtpdesk_network_refusals_expected',
} as const;

export const LEAK_BLOCK = {
  actionsPrefix: 'smtpdesk_leak_actions_',
  networkActionsPrefix: 'smtpdesk_network_actions_',
  hygieneActionsPrefix: 'smtpdesk_hygiene_actions_',
} as const;

/** Slack allows 50 blocks per message; the digest takes two per account. */
export const HYGIENE_DIGEST_MAX_ACCOUNTS = 20;

export interface AccountButtonValue {
  workspaceId: string;
  accountId: string;
  name: string;
}

export function encodeAccountButton(v: AccountButtonValue): string {
  return JSON.stringify({ w: v.workspaceId, a: v.accountId, n: v.name });
}

export function decodeAccountButton(value: string | undefined): AccountButtonValue | null {
  try {
    const v = JSON.parse(value ?? '') as { w?: unknown; a?: unknown; n?: unknown };
    return typeof v.w === 'string' && typeof v.a === 'string' && typeof v.n === 'string' ? { workspaceId: v.w, accountId: v.a, name: v.n } : null;
  } catch {
    return null;
  }
}

const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

/** Only http(s) links are shown as links; anything else is text (a report's url is not ours to trust). */
function whereText(url: string | undefined, source: string | undefined): string {
  const link =
    url && /^https?:\/\/[^\s<>|]+$/i.test(url) ? `<${url}|${esc(url.length > 120 ? `${url.slice(0, 119)}…` : url)}>` : url ? `\`${esc(url.slice(0, 200))}\`` : 'no URL given';
  return source ? `${link} (${esc(source)})` : link;
}

const ACTION_TEXT: Record<string, string> = {
  disabled: ':no_entry: The account was *disabled* at once: every password of it stopped working. Enabling it again needs a rotate first.',
  rotated: ':key: Its password was *rotated* at once: the leaked password no longer works. The account stays enabled; *Rotate* again to get a password you can see.',
  already_disabled: ':no_entry: The account was already disabled; enabling it again now needs a rotate first.',
};

/** The alert for an `account.leaked` event. */
export function leakAlertMessage(event: DomainEvent): AlertMessage {
  const a = event.account!;
  const d = event.details ?? {};
  const action = str(d.action) ?? 'disabled';
  const blocks: Block[] = [
    header(`Leaked SMTP password: ${a.name}`),
    section(
      `The password of *${esc(a.name)}* (\`${a.username}\`) was found where it should not be: ${whereText(str(d.url), str(d.source))}.\n` +
        `Reported by ${esc(event.actor.name ?? event.actor.id)} at ${formatDateTime(event.at)}.`,
    ),
    section(ACTION_TEXT[action] ?? ACTION_TEXT.disabled!),
    {
      type: 'actions',
      block_id: `${LEAK_BLOCK.actionsPrefix}${a.id}`,
      elements: [button('Rotate', ACTION.rotate, a.name, 'primary'), ...(a.status === 'active' ? [button('Disable', ACTION.disable, a.name, 'danger')] : [])],
    },
    contextLine('Remove it from where it was found too (and from the history): it is known now. docs/containment.md walks through the rest.'),
  ];
  return { text: `Leaked SMTP password: ${a.name} (${a.username}) found at ${str(d.url) ?? 'an unknown place'}; ${action.replace('_', ' ')}.`, blocks };
}

/** The alert for an `account.network_refused` event (one per episode). */
export function networkRefusalAlertMessage(event: DomainEvent): AlertMessage {
  const a = event.account!;
  const d = event.details ?? {};
  const networks = Array.isArray(d.allowedNetworks) ? d.allowedNetworks.map(String).join(', ') : '';
  const value = encodeAccountButton({ workspaceId: event.workspaceId, accountId: a.id, name: a.name });
  const blocks: Block[] = [
    header(`Password used from an unknown network: ${a.name}`),
    section(
      `The right password of *${esc(a.name)}* (\`${a.username}\`) was tried ${Number(d.refusals) || 'several'} times within an hour from outside its allowed networks ` +
        `(last from \`${esc(str(d.address) ?? '?')}\`; allowed: ${esc(networks || 'none')}). Each got \`535\`. A leaked password looks like this; so does an application that moved.`,
    ),
    {
      type: 'actions',
      block_id: `${LEAK_BLOCK.networkActionsPrefix}${a.id}`,
      elements: [button('Disable', ACTION.disable, a.name, 'danger'), button('Expected (7 days)', LEAK_ACTION.networkExpected, value)],
    },
  ];
  return { text: `Password of ${a.name} used from an unknown network (${str(d.address) ?? '?'})`, blocks };
}

const KIND_TITLE: Record<HygieneKind, string> = { password_age: 'Old password', unused: 'Unused', never_used: 'Never used' };

/** The daily digest: only findings no digest showed before, grouped by account, Rotate and Disable on each. */
export function credentialHygieneMessage(workspace: { name: string }, findings: readonly HygieneFinding[]): AlertMessage {
  const byAccount = new Map<string, HygieneFinding[]>();
  for (const f of findings) byAccount.set(f.account.id, [...(byAccount.get(f.account.id) ?? []), f]);
  const accounts = [...byAccount.values()];
  const shown = accounts.slice(0, HYGIENE_DIGEST_MAX_ACCOUNTS);
  const blocks: Block[] = [
    header(`Credential hygiene in ${workspace.name}`),
    section(`${accounts.length === 1 ? 'One account needs' : `${accounts.length} accounts need`} attention: old passwords are rotated, unused accounts disabled (or deleted).`),
  ];
  for (const list of shown) {
    const a = list[0]!.account;
    blocks.push(section(`*${esc(a.name)}*  \`${a.username}\`\n${list.map((f) => `• *${KIND_TITLE[f.kind]}*: ${esc(f.text)}`).join('\n')}`));
    blocks.push({
      type: 'actions',
      block_id: `${LEAK_BLOCK.hygieneActionsPrefix}${a.id}`,
      elements: [button('Rotate', ACTION.rotate, a.name, 'primary'), button('Disable', ACTION.disable, a.name, 'danger')],
    });
  }
  if (accounts.length > shown.length) blocks.push(contextLine(`…and ${accounts.length - shown.length} more: \`smtpdesk accounts report\` lists every account.`));
  const text = `Credential hygiene in ${workspace.name}: ${accounts.map((l) => l[0]!.account.name).join(', ')}`;
  return { text, blocks };
}
