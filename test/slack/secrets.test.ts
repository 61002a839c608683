// Passwords are shown once, to the requester only: exactly one recorded Slack call carries each password
// (an ephemeral message to that user in their DM with the app, wherever they asked), and no other call, log
// line or database document contains it. A channel gets only a pointer to the DM.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, ALERT_CHANNEL, CHANNEL, startSlackHarness, textOf, type RecordedCall, type SlackHarness } from '../helpers/slack.ts';

let h: SlackHarness;
let ws: string;

beforeAll(async () => {
  h = await startSlackHarness();
  ws = await h.workspaceId();
  await h.rt.ctx.workspaces.update(ws, { alertChannel: ALERT_CHANNEL });
});
afterAll(async () => {
  await h?.close();
});

const PASSWORD = /`(smtpd_[A-Za-z0-9]{48})`/;

function passwordIn(call: RecordedCall): string {
  const m = PASSWORD.exec(textOf(call.args).split('*Password*')[1] ?? '');
  if (!m) throw new Error('no password in the credentials message');
  return m[1]!;
}

async function everyDocument(): Promise<string> {
  const db = h.rt.db.connection.db!;
  const out: string[] = [];
  for (const c of await db.listCollections().toArray()) {
    out.push(JSON.stringify(await db.collection(c.name).find({}).toArray()));
  }
  return out.join('\n');
}

async function expectShownOnceTo(password: string, where: { channel: string; user: string }) {
  // Let everything the change set off (alerts, App Home refreshes, logs) happen first.
  await h.running.deps.background.drain();
  await new Promise((r) => setTimeout(r, 300));
  const carrying = h.api.calls.filter((c) => c.raw.includes(password) || decodeURIComponent(c.raw).includes(password));
  expect(carrying).toHaveLength(1);
  expect(carrying[0]!.method).toBe('chat.postEphemeral');
  expect(carrying[0]!.args.channel).toBe(where.channel);
  expect(carrying[0]!.args.user).toBe(where.user);
  expect(h.logs.some((l) => l.includes('"code":"SLACK_VIEW_SUBMITTED"'))).toBe(true);
  expect(h.logs.filter((l) => l.includes(password))).toEqual([]);
  expect(await everyDocument()).not.toContain(password);
}

describe('passwords', () => {
  it('after create from the slash command in a channel: one ephemeral message in the DM, a pointer without the secret in the channel', async () => {
    const r = await h.command('create production-transactional');
    const view = await h.api.modal(r.triggerId);
    const sent = await h.submit(view, { smtpdesk_create_name: { smtpdesk_create_name_input: { type: 'plain_text_input', value: 'production-transactional' } } });
    expect(sent.status).toBe(200);
    expect(sent.body).not.toMatch(PASSWORD);
    expect(textOf(JSON.parse(sent.body))).toContain('in your messages with this app');
    const message = await h.api.waitFor((calls) => calls.find((c) => c.method === 'chat.postEphemeral' && textOf(c.args).includes('*Password*')));
    const password = passwordIn(message);
    await h.api.waitFor((calls) => calls.find((c) => c.method === 'chat.postMessage' && c.args.channel === ALERT_CHANNEL));
    await expectShownOnceTo(password, { channel: `D${ADMIN.id}`, user: ADMIN.id });
    expect(h.api.of('conversations.open').at(-1)!.args.users).toBe(ADMIN.id);
    const pointer = await h.api.waitFor((calls) =>
      calls.find((c) => c.method === 'chat.postEphemeral' && c.args.channel === CHANNEL && textOf(c.args).includes('production-transactional')),
    );
    expect(pointer.args.user).toBe(ADMIN.id);
    expect(textOf(pointer.args)).toContain(`<#D${ADMIN.id}>`);
    expect(pointer.raw).not.toContain(password);
  });

  it('after rotate from the slash command in a channel: the same, the DM only', async () => {
    const r = await h.command('rotate production-transactional');
    const view = await h.api.modal(r.triggerId);
    const before = h.api.calls.length;
    await h.submit(view, {});
    const message = await h.api.waitFor((calls) => calls.slice(before).find((c) => c.method === 'chat.postEphemeral' && textOf(c.args).includes('*Password*')));
    await expectShownOnceTo(passwordIn(message), { channel: `D${ADMIN.id}`, user: ADMIN.id });
    const pointer = await h.api.waitFor((calls) => calls.slice(before).find((c) => c.method === 'chat.postEphemeral' && c.args.channel === CHANNEL));
    expect(textOf(pointer.args)).toMatch(/New password for \*production-transactional\*.*is in <#D/);
  });

  it("after rotate from App Home: one ephemeral message in the requester's DM with the app, nowhere else", async () => {
    await h.openHome(ADMIN);
    await h.api.nth('views.publish');
    const click = await h.click('smtpdesk_account_rotate', 'production-transactional');
    expect(click.status).toBe(200);
    const view = await h.api.modal(click.triggerId);
    expect(view.callback_id).toBe('smtpdesk_view_rotate');
    const before = h.api.calls.length;
    const sent = await h.submit(view, {});
    expect(sent.status).toBe(200);
    expect(textOf(JSON.parse(sent.body))).toContain('in your messages with this app');
    const message = await h.api.waitFor((calls) => calls.slice(before).find((c) => c.method === 'chat.postEphemeral' && textOf(c.args).includes('*Password*')));
    const open = h.api.of('conversations.open').at(-1)!;
    expect(open.args.users).toBe(ADMIN.id);
    await expectShownOnceTo(passwordIn(message), { channel: `D${ADMIN.id}`, user: ADMIN.id });
  });

  it('when the DM cannot be opened the password is posted nowhere, and the requester is told so', async () => {
    h.api.fail('conversations.open', 'cannot_dm_bot');
    const r = await h.command('rotate production-transactional');
    const view = await h.api.modal(r.triggerId);
    const before = h.api.calls.length;
    await h.submit(view, {});
    const told = await h.api.waitFor((calls) => calls.slice(before).find((c) => c.method === 'chat.postEphemeral' && c.args.channel === CHANNEL));
    expect(textOf(told.args)).toContain('could not be delivered');
    await h.api.waitFor((calls) => calls.slice(before).find((c) => c.method === 'views.update' && textOf(c.args).includes('could not be delivered')));
    await h.running.deps.background.drain();
    const after = h.api.calls.slice(before);
    expect(after.filter((c) => PASSWORD.test(textOf(c.args).split('*Password*')[1] ?? ''))).toEqual([]);
    expect(after.some((c) => textOf(c.args).includes('*Password*'))).toBe(false);
    expect(h.logs.some((l) => l.includes('"code":"SLACK_PRIVATE_REPLY_FAILED"'))).toBe(true);
  });
});
