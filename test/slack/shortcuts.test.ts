// Shortcuts, as Slack sends them (signed, to the real Bolt receiver): the global "Request an SMTP account"
// opens the request modal and files the request; the message shortcut "Disable this SMTP account" on one of
// smtpdesk's alert messages opens the disable modal for that account, with the role checked again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, updateWorkspaceSettings, type Actor } from '../../src/domain/index.ts';
import { idleAccountButtons } from '../../src/slack/blocks/job-alerts.ts';
import { INPUT, SHORTCUT, VIEW } from '../../src/slack/ids.ts';
import { ADMIN, ALERT_CHANNEL, MEMBER, RESPONDER, TEAM, startSlackHarness, textOf, type SlackHarness } from '../helpers/slack.ts';

let h: SlackHarness;
let ws: string;
let accountId: string;
let n = 0;
const cli: Actor = { source: 'cli', id: 'ops', name: 'ops', roles: ['admin'] };

beforeAll(async () => {
  h = await startSlackHarness();
  ws = await h.workspaceId();
  accountId = (await createAccount(h.rt.ctx, cli, ws, 'crm-sync')).account.id;
  await updateWorkspaceSettings(h.rt.ctx, cli, ws, { approvalsChannel: ALERT_CHANNEL });
});
afterAll(async () => {
  await h?.close();
});

const userOf = (u: { id: string; name: string }) => ({ id: u.id, name: u.name, username: u.name, team_id: TEAM.id });

async function messageShortcut(user: { id: string; name: string }, message: Record<string, unknown>): Promise<string> {
  const trigger = `trigger-ms-${++n}`;
  const r = await h.send.interaction({
    type: 'message_action',
    callback_id: SHORTCUT.disableFromMessage,
    trigger_id: trigger,
    message_ts: String(message.ts),
    response_url: h.api.responseUrl(),
    message,
    user: userOf(user),
    channel: { id: ALERT_CHANNEL, name: 'alerts' },
    team: { id: TEAM.id, domain: TEAM.domain },
    token: 'unused',
    action_ts: `${Date.now() / 1000}`,
    api_app_id: 'A1',
  });
  expect(r.status).toBe(200);
  return trigger;
}

function idleAlert(): Record<string, unknown> {
  return {
    type: 'message',
    ts: '1700000000.000100',
    bot_id: 'BBOT',
    app_id: 'A1',
    text: 'Idle SMTP accounts',
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: '*crm-sync* idle for 90 days' } },
      idleAccountButtons({ id: accountId, name: 'crm-sync', status: 'active', workspaceId: ws }, 30),
    ],
  };
}

describe('message shortcut: Disable this SMTP account', () => {
  it('on an smtpdesk alert, opens the disable modal for the account it names', async () => {
    const trigger = await messageShortcut(RESPONDER, idleAlert());
    const view = await h.api.modal(trigger);
    expect(view.callback_id).toBe(VIEW.disable);
    expect(textOf(view)).toContain('crm-sync');
  });

  it('checks the role again: a member is told why not', async () => {
    const trigger = await messageShortcut(MEMBER, idleAlert());
    const view = await h.api.modal(trigger);
    expect(textOf(view)).toMatch(/Only admins and security responders may disable accounts/);
  });

  it('on someone else’s message, says what it is for and opens nothing', async () => {
    const before = h.api.of('views.open').length;
    await messageShortcut(ADMIN, { type: 'message', ts: '1700000000.000200', user: 'USOMEONE', text: 'lunch?' });
    const reply = await h.api.waitFor((calls) => calls.find((c) => c.method === 'chat.postEphemeral' && /works on smtpdesk/.test(textOf(c.args))));
    expect(reply.args.user).toBe(ADMIN.id);
    expect(h.api.of('views.open').length).toBe(before);
  });
});

describe('global shortcut: Request an SMTP account', () => {
  it('opens the request modal with the naming conventions; submitting it posts the card', async () => {
    const trigger = `trigger-gs-${++n}`;
    const r = await h.send.interaction({
      type: 'shortcut',
      callback_id: SHORTCUT.requestAccount,
      trigger_id: trigger,
      user: userOf(MEMBER),
      team: { id: TEAM.id, domain: TEAM.domain },
      token: 'unused',
      action_ts: `${Date.now() / 1000}`,
    });
    expect(r.status).toBe(200);
    const view = await h.api.modal(trigger);
    expect(view.callback_id).toBe(VIEW.request);
    expect(textOf(view)).toMatch(/Naming conventions/);

    const posted = h.api.of('chat.postMessage').length;
    const bad = await h.submit(view, { [INPUT.requestName.block]: { [INPUT.requestName.action]: { type: 'plain_text_input', value: 'crm-sync' } } }, MEMBER);
    expect(JSON.parse(bad.body)).toMatchObject({ response_action: 'errors', errors: { [INPUT.requestName.block]: expect.stringMatching(/exists already/) } });

    const ok = await h.submit(
      view,
      {
        [INPUT.requestName.block]: { [INPUT.requestName.action]: { type: 'plain_text_input', value: 'support-desk' } },
        [INPUT.requestReason.block]: { [INPUT.requestReason.action]: { type: 'plain_text_input', value: 'Zendesk notifications' } },
      },
      MEMBER,
    );
    expect(ok.body).toContain(`<#${ALERT_CHANNEL}>`);
    const card = await h.api.nth('chat.postMessage', posted + 1);
    expect(textOf(card.args.blocks)).toMatch(/support-desk[\s\S]*Zendesk notifications/);
  });
});
