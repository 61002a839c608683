// The modals: create, rotate, disable, enable and delete — their inline validation errors, who may use them,
// and where the answers go.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, recordAcceptedMessage, type Actor } from '../../src/domain/index.ts';
import { openDeleteConfirmation, openDisableModal } from '../../src/slack/views/index.ts';
import { enqueueMessage } from '../helpers/queue.ts';
import { ALERT_CHANNEL, ADMIN, MEMBER, RESPONDER, startSlackHarness, textOf, type SlackHarness } from '../helpers/slack.ts';

let h: SlackHarness;
let ws: string;
const ops: Actor = { source: 'cli', id: 'ops', name: 'ops', roles: ['admin'] };
type View = Record<string, unknown>;

beforeAll(async () => {
  h = await startSlackHarness();
  ws = await h.workspaceId();
  await h.rt.ctx.workspaces.update(ws, { alertChannel: ALERT_CHANNEL });
});
afterAll(async () => {
  await h?.close();
});

const nameInput = (value: string) => ({ smtpdesk_create_name: { smtpdesk_create_name_input: { type: 'plain_text_input', value } } });

/** `/smtp <text>` that opens a modal: the modal once it has loaded. */
async function modalFor(text: string, user = ADMIN): Promise<View> {
  const r = await h.command(text, user);
  expect(r.status).toBe(200);
  return h.api.modal(r.triggerId);
}

async function submitJson(view: View, values: Record<string, Record<string, unknown>>, user = ADMIN) {
  const r = await h.submit(view, values, user);
  expect(r.status).toBe(200);
  return r.body ? (JSON.parse(r.body) as { response_action?: string; errors?: Record<string, string>; view?: View }) : {};
}

describe('create', () => {
  it('opens at once with the name prefilled and the naming conventions as a hint', async () => {
    const view = await modalFor('create production-transactional');
    expect(view.callback_id).toBe('smtpdesk_view_create');
    const input = (view.blocks as { block_id?: string; element?: { initial_value?: string }; hint?: { text: string } }[]).find((b) => b.block_id === 'smtpdesk_create_name')!;
    expect(input.element?.initial_value).toBe('production-transactional');
    expect(input.hint?.text).toMatch(/environment, email type, team, app or client/);
    const text = textOf(view);
    for (const basis of ['environment', 'email type', 'team', 'app', 'client']) expect(text).toContain(`*${basis}*`);
    expect(text).toContain('staging, production');
  });

  it.each([
    ['empty', '   ', 'Give the account a name.'],
    ['too long', 'x'.repeat(65), 'The name is 65 characters long; keep it to 64.'],
    ['bad characters', 'prod/transactional!', 'Use letters, digits, spaces, dots, underscores and dashes'],
  ])('shows a %s name inline', async (_what, name, message) => {
    const view = await modalFor('create');
    const answer = await submitJson(view, nameInput(name));
    expect(answer.response_action).toBe('errors');
    expect(answer.errors?.smtpdesk_create_name).toContain(message);
  });

  it('shows a duplicate inline (ignoring case) and a full plan with how to free a slot', async () => {
    await createAccount(h.rt.ctx, ops, ws, 'crm');
    const view = await modalFor('create');
    const dup = await submitJson(view, nameInput('CRM'));
    expect(dup.errors?.smtpdesk_create_name).toBe('An account named "CRM" already exists in this workspace.');

    for (const n of ['a1', 'a2', 'a3', 'a4']) await createAccount(h.rt.ctx, ops, ws, n);
    const full = await submitJson(view, nameInput('one-too-many'));
    expect(full.errors?.smtpdesk_create_name).toMatch(/All 5 account slots of the 10k plan are used\. Delete an account you no longer need or upgrade to the 20k plan/);
    expect(full.errors?.smtpdesk_create_name).toContain('`/smtp list --idle 60` shows accounts nobody used for 60 days.');
    for (const n of ['a1', 'a2', 'a3', 'a4']) await h.rt.ctx.accounts.delete((await h.rt.ctx.accounts.findByName(ws, n))!.id);
    for (let i = 0; i < 4; i++) await h.rt.ctx.workspaces.releaseSlot(ws);
  });

  it('turns into the refusal, naming the admins, for a member', async () => {
    const r = await h.command('create something', MEMBER);
    const view = await h.api.modal(r.triggerId, (v) => v.callback_id === 'smtpdesk_view_notice');
    expect(textOf(view)).toContain('Only admins may create accounts. Ask <@UADMIN>.');
    // …and a forged submission is refused by the domain too.
    const forged = await submitJson({ ...view, callback_id: 'smtpdesk_view_create', private_metadata: JSON.stringify({ w: ws, o: 'command' }) }, nameInput('sneaky'), MEMBER);
    expect(forged.response_action).toBe('update');
    expect(textOf(forged.view)).toContain('Only admins may create accounts.');
    expect(await h.rt.ctx.accounts.findByName(ws, 'sneaky')).toBeNull();
  });

  it('creates the account and hands the credentials to the requester only, in their DM with the app, as an ephemeral message', async () => {
    const view = await modalFor('create billing-team-invoices');
    const answer = await submitJson(view, nameInput('billing-team-invoices'));
    expect(answer.response_action).toBe('update');
    const account = (await h.rt.ctx.accounts.findByName(ws, 'billing-team-invoices'))!;
    expect(textOf(answer.view)).toContain(`Created *billing-team-invoices* (username \`${account.username}\`)`);
    const ephemeral = await h.api.waitFor((calls) => calls.find((c) => c.method === 'chat.postEphemeral' && textOf(c.args).includes(account.username)));
    expect(ephemeral.args.channel).toBe(`D${ADMIN.id}`);
    expect(ephemeral.args.user).toBe(ADMIN.id);
    expect(textOf(ephemeral.args)).toContain('Store the password in your secrets manager now');
    const alert = await h.api.waitFor((calls) =>
      calls.find((c) => c.method === 'chat.postMessage' && c.args.channel === ALERT_CHANNEL && String(c.args.text).includes('billing-team-invoices')),
    );
    expect(alert.args.text).toBe(`:new: <@UADMIN> created SMTP account *billing-team-invoices* (\`${account.username}\`).`);
  });
});

describe('rotate', () => {
  it('asks for confirmation, then gives the requester a new password', async () => {
    const before = (await h.rt.ctx.accounts.findByUsernameWithSecret((await h.rt.ctx.accounts.findByName(ws, 'crm'))!.username))!;
    const view = await modalFor('rotate CRM');
    expect(view.callback_id).toBe('smtpdesk_view_rotate');
    expect(textOf(view)).toContain('the current password stops working at once');
    const answer = await submitJson(view, {});
    expect(textOf(answer.view)).toContain('New password for *crm*');
    const after = (await h.rt.ctx.accounts.findByUsernameWithSecret(before.username))!;
    expect(after.passwordHash).not.toBe(before.passwordHash);
    const ephemeral = await h.api.waitFor((calls) => calls.find((c) => c.method === 'chat.postEphemeral' && textOf(c.args).includes('New password for *crm*')));
    expect(ephemeral.args.user).toBe(ADMIN.id);
  });

  it('is refused to a responder, who is told who may', async () => {
    const view = await modalFor('rotate crm', RESPONDER);
    expect(textOf(view)).toContain('Only admins may rotate passwords. Ask <@UADMIN>.');
  });

  it('says "did you mean" for a near miss', async () => {
    const view = await modalFor('rotate crn');
    expect(textOf(view)).toContain('No account named "crn". Did you mean "crm"?');
  });
});

describe('disable and enable', () => {
  it('lets a responder disable with a reason; the channel and the alert channel are told who, what and why', async () => {
    const view = await modalFor('disable crm compromised key found in a public repo', RESPONDER);
    expect(view.callback_id).toBe('smtpdesk_view_disable');
    const reasonBlock = (view.blocks as { block_id?: string; element?: { initial_option?: { value: string } } }[]).find((b) => b.block_id === 'smtpdesk_disable_reason')!;
    expect(reasonBlock.element?.initial_option?.value).toBe('suspected_compromise');
    const answer = await submitJson(
      view,
      {
        smtpdesk_disable_reason: { smtpdesk_disable_reason_select: { type: 'static_select', selected_option: { value: 'suspected_compromise' } } },
        smtpdesk_disable_note: { smtpdesk_disable_note_input: { type: 'plain_text_input', value: 'key found in a public repo' } },
      },
      RESPONDER,
    );
    expect(answer).toEqual({});
    const account = (await h.rt.ctx.accounts.findByName(ws, 'crm'))!;
    expect(account.status).toBe('disabled');
    expect(account.disabled).toMatchObject({ reason: 'suspected_compromise', note: 'key found in a public repo', by: 'rhea (slack)' });

    const inChannel = await h.api.waitFor((calls) => calls.find((c) => c.method === 'response_url' && c.args.response_type === 'in_channel'));
    expect(inChannel.args.text).toBe(`:no_entry: <@URESP> disabled SMTP account *crm* (\`${account.username}\`). Reason: suspected compromise — “key found in a public repo”`);
    const alert = await h.api.waitFor((calls) =>
      calls.find((c) => c.method === 'chat.postMessage' && c.args.channel === ALERT_CHANNEL && String(c.args.text).includes('disabled')),
    );
    expect(alert.args.text).toBe(`:no_entry: <@URESP> disabled *crm* (\`${account.username}\`). Reason: suspected compromise — “key found in a public repo”`);
  });

  it('shows an unknown reason inline (a forged or outdated form)', async () => {
    const view = await modalFor('disable billing-team-invoices');
    const answer = await submitJson(view, { smtpdesk_disable_reason: { smtpdesk_disable_reason_select: { type: 'static_select', selected_option: { value: 'bored' } } } });
    expect(answer.errors?.smtpdesk_disable_reason).toBe('Reason must be one of: maintenance, suspected_compromise, decommissioning, other.');
    expect((await h.rt.ctx.accounts.findByName(ws, 'billing-team-invoices'))!.status).toBe('active');
  });

  it('refuses a member', async () => {
    const view = await modalFor('disable billing-team-invoices', MEMBER);
    expect(textOf(view)).toContain('Only admins and security responders may disable accounts. Ask <@UADMIN>, <!subteam^SRESP>.');
  });

  it('enable confirms, then restores the same credentials', async () => {
    const before = (await h.rt.ctx.accounts.findByName(ws, 'crm'))!;
    const refused = await modalFor('enable crm', RESPONDER);
    expect(textOf(refused)).toContain('Only admins may enable accounts.');
    const view = await modalFor('enable crm');
    expect(view.callback_id).toBe('smtpdesk_view_enable');
    expect(textOf(view)).toContain('same username, password and statistics');
    expect(textOf(view)).toMatch(/Disabled .* by rhea \(slack\): \*suspected compromise\*/);
    expect(await submitJson(view, {})).toEqual({});
    const after = (await h.rt.ctx.accounts.findByName(ws, 'crm'))!;
    expect(after.status).toBe('active');
    expect(after.username).toBe(before.username);
    await h.api.waitFor((calls) => calls.find((c) => c.method === 'chat.postEphemeral' && String(c.args.text).includes('Enabled *crm*')));
  });
});

describe('delete', () => {
  it('shows last used, total sent and queued mail, warns, and needs the exact name and the force box', async () => {
    const { account } = await createAccount(h.rt.ctx, ops, ws, 'legacy-newsletter');
    await recordAcceptedMessage(h.rt.ctx, account, 7);
    await enqueueMessage(h.rt.queue, {
      workspaceId: ws,
      accountId: account.id,
      username: account.username,
      from: 'a@example.com',
      to: ['b@example.org'],
      body: Buffer.from('Subject: hi\r\n\r\nhi\r\n'),
      at: new Date(),
    });

    const refused = await modalFor('delete legacy-newsletter', RESPONDER);
    expect(textOf(refused)).toContain('Only admins may delete accounts.');

    const view = await modalFor('delete Legacy-Newsletter');
    expect(view.callback_id).toBe('smtpdesk_view_delete');
    const text = textOf(view);
    expect(text).toMatch(/\*Last used\*\n(just now|\d+ minutes? ago)/);
    expect(text).toContain('*Total sent*\n7');
    expect(text).toContain('*Queued messages*\n1');
    expect(text).toContain('It sent mail within the last 60 days');
    expect(text).toContain('1 message(s) are still queued');
    expect(text).toContain('Type "legacy-newsletter" to confirm');

    const confirm = (v: string) => ({ smtpdesk_delete_confirm: { smtpdesk_delete_confirm_input: { type: 'plain_text_input', value: v } } });
    const wrongCase = await submitJson(view, confirm('Legacy-Newsletter'));
    expect(wrongCase.errors?.smtpdesk_delete_confirm).toBe('Type the account\'s exact name, "legacy-newsletter", to delete it.');
    const unforced = await submitJson(view, {
      ...confirm('legacy-newsletter'),
      smtpdesk_delete_force: { smtpdesk_delete_force_checkbox: { type: 'checkboxes', selected_options: [] } },
    });
    expect(unforced.errors?.smtpdesk_delete_force).toMatch(/still has 1 queued message\(s\)/);
    expect(await h.rt.ctx.accounts.findByName(ws, 'legacy-newsletter')).not.toBeNull();

    const forced = await submitJson(view, {
      ...confirm('legacy-newsletter'),
      smtpdesk_delete_force: { smtpdesk_delete_force_checkbox: { type: 'checkboxes', selected_options: [{ value: 'force' }] } },
    });
    expect(forced).toEqual({});
    expect(await h.rt.ctx.accounts.findByName(ws, 'legacy-newsletter')).toBeNull();
    const alert = await h.api.waitFor((calls) => calls.find((c) => c.method === 'chat.postMessage' && String(c.args.text).includes('deleted')));
    expect(alert.args.text).toBe(`:wastebasket: <@UADMIN> deleted *legacy-newsletter* (\`${account.username}\`). 1 queued message(s) were dropped.`);
  });

  it('has no force box and no warnings for an unused account without queued mail', async () => {
    await createAccount(h.rt.ctx, ops, ws, 'never-used');
    const view = await modalFor('delete never-used');
    const text = textOf(view);
    expect(text).toContain('*Last used*\nnever');
    expect(text).not.toContain(':warning:');
    expect(JSON.stringify(view)).not.toContain('smtpdesk_delete_force');
    const ok = await submitJson(view, { smtpdesk_delete_confirm: { smtpdesk_delete_confirm_input: { type: 'plain_text_input', value: 'never-used' } } });
    expect(ok).toEqual({});
    expect(await h.rt.ctx.accounts.findByName(ws, 'never-used')).toBeNull();
  });
});

describe('opening the modals from any trigger (alert buttons of the scheduled jobs)', () => {
  it('openDeleteConfirmation and openDisableModal open the same modals for a given workspace and actor', async () => {
    await createAccount(h.rt.ctx, ops, ws, 'dormant-one');
    const client = h.running.slack.app.client;
    const admin: Actor = { source: 'slack', id: ADMIN.id, name: ADMIN.name, roles: ['admin'] };
    await openDeleteConfirmation(h.running.deps, client, 'trigger-from-alert-1', ws, 'DORMANT-one', admin);
    const del = await h.api.modal('trigger-from-alert-1');
    expect(del.callback_id).toBe('smtpdesk_view_delete');
    expect(textOf(del)).toContain('Type "dormant-one" to confirm');

    await openDisableModal(h.running.deps, client, 'trigger-from-alert-2', ws, 'dormant-one', { ...admin, roles: ['responder'] }, { reason: 'decommissioning' });
    const dis = await h.api.modal('trigger-from-alert-2');
    expect(dis.callback_id).toBe('smtpdesk_view_disable');
    expect(JSON.stringify(dis)).toContain('"initial_option":{"text":{"type":"plain_text","text":"Decommissioning","emoji":true},"value":"decommissioning"}');

    const member: Actor = { source: 'slack', id: MEMBER.id, name: MEMBER.name, roles: [] };
    await openDeleteConfirmation(h.running.deps, client, 'trigger-from-alert-3', ws, 'dormant-one', member);
    expect(textOf(await h.api.modal('trigger-from-alert-3'))).toContain('Only admins may delete accounts.');
  });

  it('a disable started from a button in the alert channel confirms to the clicker in that channel', async () => {
    const click = await h.click('smtpdesk_account_disable', 'dormant-one', RESPONDER, 'message');
    expect(click.status).toBe(200);
    const view = await h.api.modal(click.triggerId);
    const before = h.api.calls.length;
    await submitJson(view, { smtpdesk_disable_reason: { smtpdesk_disable_reason_select: { type: 'static_select', selected_option: { value: 'decommissioning' } } } }, RESPONDER);
    const confirmation = await h.api.waitFor((calls) => calls.slice(before).find((c) => c.method === 'chat.postEphemeral'));
    expect(confirmation.args).toMatchObject({ channel: ALERT_CHANNEL, user: RESPONDER.id });
    expect(String(confirmation.args.text)).toContain('disabled SMTP account *dormant-one*');
  });
});

describe('a slow domain call', () => {
  it('answers the submission within the deadline with "working", then shows the result in the modal', async () => {
    const slow = await startSlackHarness({ submitDeadlineMs: 1 });
    try {
      const r = await slow.command('create slow-one');
      const view = await slow.api.modal(r.triggerId);
      const sent = await slow.submit(view, nameInput('slow-one'));
      expect(sent.status).toBe(200);
      expect(textOf(JSON.parse(sent.body))).toContain('Working on it');
      const update = await slow.api.waitFor((calls) =>
        calls.find((c) => c.method === 'views.update' && c.args.view_id === view.id && textOf(c.args).includes('Created *slow-one*')),
      );
      expect(update).toBeTruthy();
      await slow.api.waitFor((calls) => calls.find((c) => c.method === 'chat.postEphemeral' && textOf(c.args).includes('Created SMTP account *slow-one*')));
    } finally {
      await slow.close();
    }
  });
});
