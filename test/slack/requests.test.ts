// Request and approve, through the real Bolt receiver with requests signed as Slack signs them: a member asks
// with /smtp request, the card lands in the approvals channel with confirming buttons, the requester cannot
// decide their own request, a second admin approves it (the password goes only to the requester's DM, the card
// loses its buttons), a second click is told who decided, and deletes can need a second admin too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, decideRequest, requestAccount, updateWorkspaceSettings, type Actor } from '../../src/domain/index.ts';
import { ACTION, INPUT, VIEW } from '../../src/slack/ids.ts';
import { ADMIN, ALERT_CHANNEL, MEMBER, actionIdsOf, startSlackHarness, textOf, type ClickedMessage, type RecordedCall, type SlackHarness } from '../helpers/slack.ts';

const ADMIN2 = { id: 'UADMIN2', name: 'bea' };
const APPROVALS = ALERT_CHANNEL;
const cli: Actor = { source: 'cli', id: 'ops', name: 'ops', roles: ['admin'] };

let h: SlackHarness;
let ws: string;

beforeAll(async () => {
  h = await startSlackHarness({ env: { SLACK_ADMIN_USERS: `${ADMIN.id},${ADMIN2.id}` } });
  ws = await h.workspaceId();
  await updateWorkspaceSettings(h.rt.ctx, cli, ws, { approvalsChannel: APPROVALS });
});
afterAll(async () => {
  await h?.close();
});

/** `/smtp request …` as `user`: what they are told, and the card posted for it. */
async function request(text: string, user: { id: string; name: string }): Promise<{ answer: string; card: RecordedCall }> {
  const posted = h.api.of('chat.postMessage').length;
  const r = await h.command(`request ${text}`, user);
  expect(r.status).toBe(200);
  const [answer] = await h.responses(r.responseUrl);
  const card = await h.api.nth('chat.postMessage', posted + 1);
  return { answer: textOf(answer!.args), card };
}

function asClicked(card: RecordedCall): ClickedMessage {
  return { ts: String(card.response.ts), text: card.args.text, blocks: card.args.blocks, blockId: 'smtpdesk_request_actions' };
}

function buttonOf(card: RecordedCall, actionId: string): { value: string; confirm?: { style?: string } } {
  const actions = (card.args.blocks as { type: string; elements?: { action_id: string; value: string; confirm?: { style?: string } }[] }[]).find((b) => b.type === 'actions')!;
  return actions.elements!.find((e) => e.action_id === actionId)!;
}

/** Clicks a card's button as `user` and waits for its private answer (a refusal). */
async function click(card: RecordedCall, actionId: string, user: { id: string; name: string }): Promise<string> {
  const before = h.api.calls.length;
  const r = await h.click(actionId, buttonOf(card, actionId).value, user, asClicked(card));
  expect(r.status).toBe(200);
  const reply = await h.api.waitFor((calls) => calls.slice(before).find((c) => c.method === 'chat.postEphemeral' && c.args.user === user.id && c.args.channel === APPROVALS));
  return textOf(reply.args);
}

/** Clicks a card's button as `user` and waits until the card is updated with the decision. */
async function decide(card: RecordedCall, actionId: string, user: { id: string; name: string }): Promise<RecordedCall> {
  const before = h.api.calls.length;
  const r = await h.click(actionId, buttonOf(card, actionId).value, user, asClicked(card));
  expect(r.status).toBe(200);
  return h.api.waitFor((calls) => calls.slice(before).find((c) => c.method === 'chat.update' && c.args.ts === card.response.ts));
}

describe('/smtp request and the approvals channel', () => {
  it('a member asks; the card waits in the approvals channel with Approve and Deny, each confirming first', async () => {
    const { answer, card } = await request('billing-receipts for the invoices app', MEMBER);
    expect(answer).toContain(`<#${APPROVALS}>`);
    expect(card.args.channel).toBe(APPROVALS);
    expect(textOf(card.args.blocks)).toContain('billing-receipts');
    expect(textOf(card.args.blocks)).toContain('for the invoices app');
    expect(actionIdsOf(card.args.blocks)).toEqual([ACTION.requestApprove, ACTION.requestDeny]);
    expect(buttonOf(card, ACTION.requestApprove).confirm).toBeDefined();
    expect(buttonOf(card, ACTION.requestDeny).confirm?.style).toBe('danger');
  });

  it('is refused to a member, and to the requester themself; a second admin approves, the password goes to the requester only', async () => {
    const { card } = await request('ops-alerts', ADMIN);
    expect(await click(card, ACTION.requestApprove, MEMBER)).toMatch(/Only admins may approve or deny requests/);
    expect(await click(card, ACTION.requestApprove, ADMIN)).toMatch(/You made this request: another admin must decide it/);
    expect(await h.rt.ctx.accounts.findByName(ws, 'ops-alerts')).toBeNull();

    const calls = h.api.calls.length;
    const update = await decide(card, ACTION.requestApprove, ADMIN2);
    const account = await h.rt.ctx.accounts.findByName(ws, 'ops-alerts');
    expect(account?.status).toBe('active');

    // The password: one ephemeral message in the requester's DM, and nowhere else.
    const dm = await h.api.waitFor((cs) => cs.slice(calls).find((c) => c.method === 'chat.postEphemeral' && c.args.channel === `D${ADMIN.id}`));
    expect(dm.args.user).toBe(ADMIN.id);
    const password = /\*Password\*\n`([^`]+)`/.exec(textOf(dm.args.blocks))![1]!;
    expect(password.length).toBeGreaterThan(20);
    const leaked = h.api.calls.slice(calls).filter((c) => c !== dm && c.raw.includes(password));
    expect(leaked.map((c) => c.method)).toEqual([]);
    expect(h.logs.some((l) => l.includes(password))).toBe(false);

    // The card shows the outcome for everyone, without buttons.
    expect(textOf(update.args.blocks)).toMatch(/Approved\* by <@UADMIN2>/);
    expect(actionIdsOf(update.args.blocks)).toEqual([]);

    const audit = (await h.rt.ctx.audit.list(ws, { limit: 20 })).map((e) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['request.created', 'request.approved', 'account.created']));
  });

  it('a decision clicked twice is answered "already decided by …", and nothing happens twice', async () => {
    const { card } = await request('twice-clicked', MEMBER);
    await decide(card, ACTION.requestApprove, ADMIN2);
    expect(await h.rt.ctx.accounts.findByName(ws, 'twice-clicked')).not.toBeNull();
    const slots = (await h.rt.ctx.workspaces.findById(ws))!.slotsUsed;
    expect(await click(card, ACTION.requestApprove, ADMIN)).toMatch(/already approved by bea \(slack\)/);
    expect(await click(card, ACTION.requestDeny, ADMIN)).toMatch(/already approved by bea/);
    expect((await h.rt.ctx.workspaces.findById(ws))!.slotsUsed).toBe(slots);
  });

  it('two admins deciding at once decide it once (compare-and-set)', async () => {
    const member: Actor = { source: 'slack', id: MEMBER.id, name: MEMBER.name, roles: [] };
    const { request: r } = await requestAccount(h.rt.ctx, member, ws, { name: 'raced-request' });
    const a: Actor = { source: 'slack', id: ADMIN.id, name: ADMIN.name, roles: ['admin'] };
    const b: Actor = { source: 'slack', id: ADMIN2.id, name: ADMIN2.name, roles: ['admin'] };
    const results = await Promise.allSettled([decideRequest(h.rt.ctx, a, ws, r.id, 'approve'), decideRequest(h.rt.ctx, b, ws, r.id, 'deny')]);
    expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((x) => x.status === 'rejected') as PromiseRejectedResult;
    expect((refused.reason as { code: string }).code).toBe('REQUEST.ALREADY_DECIDED');
  });

  it('deny: the card says so, the requester hears it, no account is made', async () => {
    const { card } = await request('not-needed', MEMBER);
    const calls = h.api.calls.length;
    const update = await decide(card, ACTION.requestDeny, ADMIN2);
    expect(textOf(update.args.blocks)).toMatch(/Denied\* by <@UADMIN2>/);
    const dm = await h.api.waitFor((cs) => cs.slice(calls).find((c) => c.method === 'chat.postEphemeral' && c.args.channel === `D${MEMBER.id}`));
    expect(textOf(dm.args)).toMatch(/not-needed.*denied/);
    expect(await h.rt.ctx.accounts.findByName(ws, 'not-needed')).toBeNull();
  });

  it('a request expires (7 days by default) and is then refused', async () => {
    const member: Actor = { source: 'slack', id: MEMBER.id, name: MEMBER.name, roles: [] };
    const { request: r } = await requestAccount(h.rt.ctx, member, ws, { name: 'too-late' }, { ttlMs: 1 });
    expect(r.expiresAt.getTime() - r.createdAt.getTime()).toBe(1);
    const { request: normal } = await requestAccount(h.rt.ctx, member, ws, { name: 'in-time' });
    expect(normal.expiresAt.getTime() - normal.createdAt.getTime()).toBe(7 * 86_400_000);
    await new Promise((x) => setTimeout(x, 5));
    const admin: Actor = { source: 'slack', id: ADMIN2.id, name: ADMIN2.name, roles: ['admin'] };
    await expect(decideRequest(h.rt.ctx, admin, ws, r.id, 'approve')).rejects.toMatchObject({ code: 'REQUEST.EXPIRED' });
    expect((await h.rt.ctx.accountRequests.findById(ws, r.id))?.status).toBe('expired');
  });

  it('a bad name is refused at once, before any card', async () => {
    const posted = h.api.of('chat.postMessage').length;
    const r = await h.command('request "bad name!!"', MEMBER);
    const [answer] = await h.responses(r.responseUrl);
    expect(textOf(answer!.args)).toMatch(/:no_entry_sign:/);
    expect(h.api.of('chat.postMessage').length).toBe(posted);
  });
});

describe('workspace set --delete-needs-approval', () => {
  it('a delete in Slack waits for a second admin, who deletes it by approving', async () => {
    await createAccount(h.rt.ctx, cli, ws, 'legacy-relay');
    await updateWorkspaceSettings(h.rt.ctx, cli, ws, { deleteNeedsApproval: true });
    const r = await h.command('delete legacy-relay', ADMIN);
    const view = await h.api.modal(r.triggerId, (v) => v.callback_id === VIEW.delete);
    const posted = h.api.of('chat.postMessage').length;
    const sent = await h.submit(view, { [INPUT.deleteConfirm.block]: { [INPUT.deleteConfirm.action]: { type: 'plain_text_input', value: 'legacy-relay' } } }, ADMIN);
    expect(sent.status).toBe(200);
    expect(sent.body).toContain(`<#${APPROVALS}>`);
    expect(await h.rt.ctx.accounts.findByName(ws, 'legacy-relay')).not.toBeNull();

    const card = await h.api.nth('chat.postMessage', posted + 1);
    expect(textOf(card.args.blocks)).toContain('deleting SMTP account *legacy-relay*');
    expect(await click(card, ACTION.requestApprove, ADMIN)).toMatch(/another admin must decide/);
    await decide(card, ACTION.requestApprove, ADMIN2);
    expect(await h.rt.ctx.accounts.findByName(ws, 'legacy-relay')).toBeNull();
    await updateWorkspaceSettings(h.rt.ctx, cli, ws, { deleteNeedsApproval: false });
  });
});
