// Sending limits and rotation with overlap from Slack: `/smtp show` shows them, the account's "Sending limits"
// button opens an edit modal (malformed values inline), the rotate modal offers to keep the old password, and
// the surge alert's *Expected* snoozes the signal. All as signed requests to the real Bolt receiver.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, setSendingPolicy, type Actor } from '../../src/domain/index.ts';
import { ADMIN, ALERT_CHANNEL, MEMBER, RESPONDER, startSlackHarness, textOf, type SlackHarness } from '../helpers/slack.ts';
import { encodeSurgeButton } from '../../src/slack/blocks/surge-alert.ts';

let h: SlackHarness;
let ws: string;
const cli: Actor = { source: 'cli', id: 'ops', name: 'ops', roles: ['admin'] };

beforeAll(async () => {
  h = await startSlackHarness({ env: { SLACK_HOST: '127.0.0.1' } });
  ws = await h.workspaceId();
  await h.rt.ctx.workspaces.update(ws, { alertChannel: ALERT_CHANNEL });
  const a = await createAccount(h.rt.ctx, cli, ws, 'billing-invoices');
  await setSendingPolicy(h.rt.ctx, cli, ws, a.account.name, { allowedSenders: ['billing.acme.test'], rateLimit: { limit: 100, per: 'h' } });
});
afterAll(async () => {
  await h?.close();
});

async function ask(text: string, user = ADMIN) {
  const r = await h.command(text, user);
  const [answer] = await h.responses(r.responseUrl);
  return answer!.args;
}

describe('sending limits in Slack', () => {
  it('/smtp show lists the allowed senders and the rate limit; admins get the edit button, members do not', async () => {
    const forAdmin = await ask('show billing-invoices');
    expect(textOf(forAdmin)).toMatch(/Allowed senders\*?\n\*@billing\.acme\.test/);
    expect(textOf(forAdmin)).toMatch(/Rate limit\*?\n100 recipients per hour/);
    expect(JSON.stringify(forAdmin)).toContain('smtpdesk_account_limits');
    const forMember = await ask('show billing-invoices', MEMBER);
    expect(JSON.stringify(forMember)).not.toContain('smtpdesk_account_limits');
  });

  it('the Sending limits button opens the modal; a malformed value is shown inline; a good one is saved and audited', async () => {
    const click = await h.click('smtpdesk_account_limits', 'billing-invoices');
    expect(click.status).toBe(200);
    const view = await h.api.modal(click.triggerId);
    expect(view.callback_id).toBe('smtpdesk_view_limits');
    expect(JSON.stringify(view)).toContain('100/h');

    const field = (senders: string, rate: string) => ({
      smtpdesk_limits_senders: { smtpdesk_limits_senders_input: { type: 'plain_text_input', value: senders } },
      smtpdesk_limits_rate: { smtpdesk_limits_rate_input: { type: 'plain_text_input', value: rate } },
    });
    const bad = await h.submit(view, field('noreply@', '10/week'));
    const errors = JSON.parse(bad.body) as { response_action: string; errors: Record<string, string> };
    expect(errors.response_action).toBe('errors');
    expect(errors.errors.smtpdesk_limits_senders).toContain('Not an allowed-sender rule');
    expect(errors.errors.smtpdesk_limits_rate).toContain('Not a rate limit');

    const good = await h.submit(view, field('noreply@acme.test, *.apps.acme.test', '5/m'));
    expect(textOf(JSON.parse(good.body))).toContain('Saved for *billing-invoices*');
    const account = await h.rt.ctx.accounts.findByName(ws, 'billing-invoices');
    expect(account?.allowedSenders).toEqual(['noreply@acme.test', '*.apps.acme.test']);
    expect(account?.rateLimit).toEqual({ limit: 5, per: 'm' });
    const alert = await h.api.waitFor((calls) =>
      calls.find((c) => c.method === 'chat.postMessage' && c.args.channel === ALERT_CHANNEL && String(c.args.text).includes('rate limit: 5/m')),
    );
    expect(String(alert.args.text)).toContain(`<@${ADMIN.id}>`);
    expect(String(alert.args.text)).toContain('allowed senders: noreply@acme.test, *.apps.acme.test');
  });

  it('a responder cannot change them', async () => {
    const click = await h.click('smtpdesk_account_limits', 'billing-invoices', RESPONDER);
    const view = await h.api.modal(click.triggerId);
    expect(textOf(view)).toContain('Only admins may change sending limits');
  });
});

describe('rotate modal', () => {
  it('offers none, 1 h, 24 h, 7 d; "1 hour" keeps the old password and the DM says until when', async () => {
    const r = await h.command('rotate billing-invoices');
    const view = await h.api.modal(r.triggerId, (v) => v.callback_id === 'smtpdesk_view_rotate');
    expect(textOf(view)).toMatch(/No: it stops at once[^]*1 hour[^]*24 hours[^]*7 days/);
    const before = h.api.calls.length;
    await h.submit(view, {
      smtpdesk_rotate_keep_old: { smtpdesk_rotate_keep_old_select: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: '1 hour' }, value: '3600000' } } },
    });
    const dm = await h.api.waitFor((calls) => calls.slice(before).find((c) => c.method === 'chat.postEphemeral' && textOf(c.args).includes('*Password*')));
    expect(textOf(dm.args)).toMatch(/the old one keeps working until \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    const account = await h.rt.ctx.accounts.findByName(ws, 'billing-invoices');
    expect(account?.previousPassword?.validUntil.getTime()).toBeGreaterThan(Date.now() + 3_500_000);
  });
});

describe('surge alert: Expected', () => {
  it('snoozes the alerted signals of the account and marks the alert', async () => {
    const account = (await h.rt.ctx.accounts.findByName(ws, 'billing-invoices'))!;
    const value = encodeSurgeButton({ workspaceId: ws, accountId: account.id, name: account.name, signals: ['volume'] });
    const blockId = `smtpdesk_surge_actions_${account.id}`;
    const blocks = [
      { type: 'actions', block_id: blockId, elements: [{ type: 'button', action_id: 'smtpdesk_surge_expected', value, text: { type: 'plain_text', text: 'Expected' } }] },
    ];
    const r = await h.click('smtpdesk_surge_expected', value, RESPONDER, { ts: '9.9', text: 'Unusual sending', blocks, blockId });
    expect(r.status).toBe(200);
    const update = await h.api.waitFor((calls) => calls.find((c) => c.method === 'chat.update' && textOf(c.args).includes('marked this as expected')));
    expect(textOf(update.args)).toContain('no volume alert for it until');
    const after = await h.rt.ctx.accounts.findById(account.id);
    expect(after?.surgeSnoozes?.volume?.getTime()).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    const member = await h.click('smtpdesk_surge_expected', value, MEMBER, { ts: '9.9', text: 'Unusual sending', blocks, blockId });
    expect(member.status).toBe(200);
    await h.api.waitFor((calls) =>
      calls.find(
        (c) => (c.method === 'chat.postEphemeral' || c.method === 'response_url') && textOf(c.args).includes('Only admins and security responders may mark a surge as expected'),
      ),
    );
  });
});

describe('SLACK_HOST', () => {
  it('the receiver listens on the address it names only', async () => {
    const port = h.running.port!;
    const ok = await fetch(`http://127.0.0.1:${port}/slack/events`, { method: 'POST', body: '' }).then((r) => r.status);
    expect(ok).toBeGreaterThanOrEqual(400); // reached (and refused: unsigned)
    const elsewhere = await fetch(`http://127.0.0.2:${port}/slack/events`, { method: 'POST', body: '' }).then(
      () => 'reached',
      () => 'refused',
    );
    expect(elsewhere).toBe('refused');
  });
});
