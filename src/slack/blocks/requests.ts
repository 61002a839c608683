// Account requests as Slack shows them: the card in the approvals channel (Approve / Deny, each confirming
// first), the card after a decision (no buttons), and the "Request an SMTP account" modal.
import type { types } from '@slack/bolt';
import { ACCOUNT_NAME_MAX_LENGTH, NAMING_CONVENTIONS, NAMING_HINT, type AccountRequest } from '../../domain/index.ts';
import { formatDate, formatDateTime } from '../../shared/format.ts';
import { ACTION, INPUT, VIEW } from '../ids.ts';
import { actorText, button, contextLine, esc, modal, plain, section, type Block, type ModalView } from './common.ts';

export const REQUEST_CARD_BLOCK = { summary: 'smtpdesk_request_summary', actions: 'smtpdesk_request_actions', outcome: 'smtpdesk_request_outcome' } as const;

function what(r: AccountRequest): string {
  return r.kind === 'create' ? `a new SMTP account *${esc(r.accountName)}*` : `deleting SMTP account *${esc(r.accountName)}*${r.force ? ' (dropping its queued mail)' : ''}`;
}

function summary(r: AccountRequest): Block {
  const reason = r.reason ? `\n>${esc(r.reason).replace(/\n/g, '\n>')}` : '';
  return section(`:inbox_tray: ${actorText(r.requestedBy)} asks for ${what(r)}.${reason}`, REQUEST_CARD_BLOCK.summary);
}

/** The card posted to the approvals channel. */
export function requestCard(r: AccountRequest): { text: string; blocks: Block[] } {
  const approve = r.kind === 'create' ? 'Create the account' : 'Delete the account';
  return {
    text: `Request: ${r.kind === 'create' ? 'new SMTP account' : 'delete SMTP account'} ${r.accountName}`,
    blocks: [
      summary(r),
      {
        type: 'actions',
        block_id: REQUEST_CARD_BLOCK.actions,
        elements: [
          button('Approve', ACTION.requestApprove, r.id, 'primary', {
            title: 'Approve this request?',
            text: r.kind === 'create' ? `${approve} *${esc(r.accountName)}*; its password goes only to the requester.` : `${approve} *${esc(r.accountName)}*: this is permanent.`,
            confirm: 'Approve',
            style: r.kind === 'create' ? 'primary' : 'danger',
          }),
          button('Deny', ACTION.requestDeny, r.id, 'danger', { title: 'Deny this request?', text: `The requester is told that you denied ${what(r)}.`, confirm: 'Deny' }),
        ],
      },
      contextLine(`Admins other than the requester may decide · expires ${formatDate(r.expiresAt)}`),
    ],
  };
}

const OUTCOME_ICON = { approved: ':white_check_mark:', denied: ':no_entry_sign:', expired: ':hourglass:', failed: ':warning:', pending: ':inbox_tray:' } as const;

/** The card once decided: what happened, who decided, and no buttons. */
export function decidedCard(r: AccountRequest): { text: string; blocks: Block[] } {
  const by = r.decidedBy ? ` by ${actorText(r.decidedBy)}` : '';
  const at = r.decidedAt ? ` on ${formatDateTime(r.decidedAt)}` : '';
  const verb = r.status === 'failed' ? 'Approved, but it could not be done' : r.status.charAt(0).toUpperCase() + r.status.slice(1);
  const outcome = r.outcome ? `: ${esc(r.outcome)}` : '';
  return {
    text: `Request ${r.status}: ${r.accountName}`,
    blocks: [summary(r), section(`${OUTCOME_ICON[r.status]} *${verb}*${by}${at}${outcome}`, REQUEST_CARD_BLOCK.outcome)],
  };
}

/** The modal of the global shortcut "Request an SMTP account": name (with the naming conventions) and reason. */
export function requestModal(privateMetadata: string): ModalView {
  const name: types.PlainTextInput = {
    type: 'plain_text_input',
    action_id: INPUT.requestName.action,
    max_length: ACCOUNT_NAME_MAX_LENGTH + 20,
    placeholder: plain('e.g. production-transactional'),
  };
  const reason: types.PlainTextInput = { type: 'plain_text_input', action_id: INPUT.requestReason.action, multiline: true, max_length: 500 };
  const examples = NAMING_CONVENTIONS.map((c) => `• *${c.basis}*: ${c.example}`).join('\n');
  return modal({
    callbackId: VIEW.request,
    title: 'Request an account',
    submit: 'Request',
    privateMetadata,
    blocks: [
      { type: 'input', block_id: INPUT.requestName.block, label: plain('Account name'), element: name, hint: plain(NAMING_HINT, 2000) },
      section(`*Naming conventions* — name accounts by:\n${examples}`),
      { type: 'input', block_id: INPUT.requestReason.block, label: plain('What is it for?'), element: reason, optional: true },
      contextLine('An admin approves it in the approvals channel; the password then comes to you alone, in your messages with this app.'),
    ],
  });
}
