// Small Block Kit builders shared by every message, modal and the App Home view.
import type { types } from '@slack/bolt';
import { describeActor, type Actor } from '../../domain/index.ts';

export type Block = types.KnownBlock;
export type ModalView = types.ModalView;
export type HomeView = types.HomeView;
export type Button = types.Button;

/** Escapes text for mrkdwn: user-provided names and notes must not become mentions or links. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Who did something, for a Slack line: a mention for a Slack user, else "name (source)", e.g. "pagerduty (webhook)". */
export function actorText(actor: Pick<Actor, 'source' | 'id' | 'name'>): string {
  if (actor.source === 'slack' && /^[UW][A-Z0-9]+$/.test(actor.id)) return `<@${actor.id}>`;
  return esc(describeActor(actor));
}

/** Plain-text objects are limited (titles 24, buttons 75 characters); cut with an ellipsis. */
export function plain(text: string, max = 150): types.PlainTextElement {
  return { type: 'plain_text', text: text.length > max ? `${text.slice(0, max - 1)}…` : text, emoji: true };
}

export function md(text: string): types.MrkdwnElement {
  return { type: 'mrkdwn', text: text.length > 3000 ? `${text.slice(0, 2999)}…` : text };
}

export function section(text: string, blockId?: string): types.SectionBlock {
  return blockId ? { type: 'section', block_id: blockId, text: md(text) } : { type: 'section', text: md(text) };
}

export function fields(pairs: [string, string][]): types.SectionBlock[] {
  const out: types.SectionBlock[] = [];
  for (let i = 0; i < pairs.length; i += 10) {
    out.push({ type: 'section', fields: pairs.slice(i, i + 10).map(([k, v]) => md(`*${k}*\n${v}`)) });
  }
  return out;
}

export function header(text: string): types.HeaderBlock {
  return { type: 'header', text: plain(text, 150) };
}

export function contextLine(text: string): types.ContextBlock {
  return { type: 'context', elements: [md(text)] };
}

export function divider(): types.DividerBlock {
  return { type: 'divider' };
}

/**
 * A button. A destructive one (its action id names disable, rotate, delete, pause or deny, or `confirm` is
 * given) asks first, with a red confirm button: every builder of buttons gets this by using this function,
 * including alert buttons added later. `confirm: false` opts out (a button that only opens a form).
 */
export function button(text: string, actionId: string, value: string, style?: 'primary' | 'danger', confirm?: ConfirmText | false): types.Button {
  const b: types.Button = { type: 'button', text: plain(text, 75), action_id: actionId, value: value.slice(0, 2000) };
  if (style) b.style = style;
  const ask = confirm === false ? undefined : (confirm ?? destructiveConfirm(text, actionId));
  if (ask) b.confirm = confirmDialog(ask);
  return b;
}

export interface ConfirmText {
  title: string;
  text: string;
  confirm: string;
  /** 'danger' unless said otherwise (an approval is primary). */
  style?: 'primary' | 'danger';
}

/** The words of action ids that change or end an account's access: such a button asks before acting. */
const DESTRUCTIVE_WORDS = /(^|_)(disable|rotate|delete|pause|deny|purge)(_|$)/;

export function isDestructiveAction(actionId: string): boolean {
  return DESTRUCTIVE_WORDS.test(actionId);
}

/** The default question for a destructive button, from its label: "Disable now?" … "Yes, disable now". */
export function destructiveConfirm(label: string, actionId: string): ConfirmText | undefined {
  if (!isDestructiveAction(actionId)) return undefined;
  const verb = label.replace(/\s*\(.*\)\s*$/, '').trim() || 'Continue';
  return { title: `${verb}?`, text: `*${esc(verb)}*: are you sure? This changes who can send mail with this account.`, confirm: `Yes, ${verb.toLowerCase()}` };
}

export function confirmDialog(c: ConfirmText): types.ConfirmationDialog {
  return { title: plain(c.title, 100), text: md(c.text.slice(0, 300)), confirm: plain(c.confirm, 30), deny: plain('Cancel', 30), style: c.style ?? 'danger' };
}

/** Packs lines into section blocks of at most ~3000 characters each (Slack's limit per text). */
export function linesToSections(lines: string[], separator = '\n'): types.SectionBlock[] {
  const out: types.SectionBlock[] = [];
  let current = '';
  for (const line of lines) {
    const next = current ? `${current}${separator}${line}` : line;
    if (next.length > 2900 && current) {
      out.push(section(current));
      current = line;
    } else {
      current = next;
    }
  }
  if (current) out.push(section(current));
  return out;
}

/** A modal; title at most 24 characters, submit/close at most 24. */
export function modal(opts: { callbackId: string; title: string; blocks: Block[]; submit?: string; close?: string; privateMetadata?: string }): ModalView {
  const view: ModalView = {
    type: 'modal',
    callback_id: opts.callbackId,
    title: plain(opts.title, 24),
    close: plain(opts.close ?? (opts.submit ? 'Cancel' : 'Close'), 24),
    blocks: opts.blocks,
  };
  if (opts.submit) view.submit = plain(opts.submit, 24);
  if (opts.privateMetadata !== undefined) view.private_metadata = opts.privateMetadata;
  return view;
}
