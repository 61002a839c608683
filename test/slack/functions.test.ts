// Workflow Builder steps: `function_executed` events, signed as Slack signs them, against the real Bolt
// receiver. The step checks the running user's role (user_context), then completes (functions.completeSuccess)
// or fails with a reason the user reads in Workflow Builder (functions.completeError).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, type Actor } from '../../src/domain/index.ts';
import { FUNCTION } from '../../src/slack/ids.ts';
import { ADMIN, MEMBER, RESPONDER, TEAM, startSlackHarness, textOf, type RecordedCall, type SlackHarness } from '../helpers/slack.ts';

let h: SlackHarness;
let ws: string;
let n = 0;
const cli: Actor = { source: 'cli', id: 'ops', name: 'ops', roles: ['admin'] };

beforeAll(async () => {
  h = await startSlackHarness();
  ws = await h.workspaceId();
  await createAccount(h.rt.ctx, cli, ws, 'checkout-prod');
  await createAccount(h.rt.ctx, cli, ws, 'newsletter');
});
afterAll(async () => {
  await h?.close();
});

/** Runs a step as Slack does (a function_executed event) and returns how it ended: completeSuccess or completeError. */
async function runStep(callbackId: string, inputs: Record<string, unknown>): Promise<RecordedCall> {
  const execution = `Fx${++n}`;
  const r = await h.send.event({
    token: 'unused',
    team_id: TEAM.id,
    api_app_id: 'A1',
    type: 'event_callback',
    event_id: `EvFn${n}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: TEAM.id, user_id: 'UBOT', is_bot: true }],
    event: {
      type: 'function_executed',
      function: {
        id: `Fn${n}`,
        callback_id: callbackId,
        title: callbackId,
        type: 'app',
        input_parameters: [],
        output_parameters: [],
        app_id: 'A1',
        date_created: 1,
        date_updated: 1,
        date_deleted: 0,
      },
      inputs,
      function_execution_id: execution,
      workflow_execution_id: `Wf${n}`,
      event_ts: `${Date.now() / 1000}`,
      bot_access_token: `xwfp-step-token-${n}`,
    },
  });
  expect(r.status).toBe(200);
  return h.api.waitFor((calls) => calls.find((c) => c.method.startsWith('functions.complete') && c.args.function_execution_id === execution), 10_000, `the end of ${execution}`);
}

const by = (u: { id: string }) => ({ id: u.id, secret: 'user-context-secret' });

describe('disable_smtp_account', () => {
  it('fails for a member, with a reason they can read, and changes nothing', async () => {
    const end = await runStep(FUNCTION.disable, { account: 'checkout-prod', reason: 'leaked in a public repo', user_context: by(MEMBER) });
    expect(end.method).toBe('functions.completeError');
    expect(String(end.args.error)).toMatch(/Only admins and security responders may disable accounts/);
    expect((await h.rt.ctx.accounts.findByName(ws, 'checkout-prod'))?.status).toBe('active');
  });

  it('completes for a security responder: the account is disabled, with the outputs the next step uses', async () => {
    const end = await runStep(FUNCTION.disable, { account: 'checkout-prod', reason: 'leaked in a public repo', user_context: by(RESPONDER) });
    expect(end.method).toBe('functions.completeSuccess');
    expect(end.args.outputs).toEqual({ account: 'checkout-prod', status: 'disabled' });
    // Answered with the step's own token, as Slack requires.
    expect(end.token).toMatch(/^xwfp-step-token-/);
    const account = await h.rt.ctx.accounts.findByName(ws, 'checkout-prod');
    expect(account?.status).toBe('disabled');
    expect(account?.disabled?.note).toContain('leaked in a public repo');
    const [entry] = await h.rt.ctx.audit.list(ws, { accountId: account!.id, limit: 1 });
    expect(entry).toMatchObject({ action: 'account.disabled', actor: { source: 'slack', id: RESPONDER.id } });
  });

  it('fails clearly without user_context or with an unknown account', async () => {
    const noUser = await runStep(FUNCTION.disable, { account: 'newsletter' });
    expect(noUser.method).toBe('functions.completeError');
    expect(String(noUser.args.error)).toMatch(/who runs the workflow/);
    const unknown = await runStep(FUNCTION.disable, { account: 'no-such-account', user_context: by(ADMIN) });
    expect(unknown.method).toBe('functions.completeError');
    expect(String(unknown.args.error)).toMatch(/no-such-account/);
  });
});

describe('rotate_smtp_account', () => {
  it('fails for a responder (admins only) and completes for an admin, the password in their DM and never in the outputs', async () => {
    const refused = await runStep(FUNCTION.rotate, { account: 'newsletter', user_context: by(RESPONDER) });
    expect(refused.method).toBe('functions.completeError');
    expect(String(refused.args.error)).toMatch(/Only admins may rotate passwords/);

    const before = h.api.calls.length;
    const done = await runStep(FUNCTION.rotate, { account: 'newsletter', user_context: by(ADMIN) });
    expect(done.method).toBe('functions.completeSuccess');
    expect((done.args.outputs as { account: string }).account).toBe('newsletter');
    expect((done.args.outputs as { note: string }).note).toMatch(/direct message only they can see/);
    const dm = h.api.calls.slice(before).find((c) => c.method === 'chat.postEphemeral' && c.args.channel === `D${ADMIN.id}`)!;
    const password = /\*Password\*\n`([^`]+)`/.exec(textOf(dm.args.blocks))![1]!;
    expect(done.raw).not.toContain(password);
  });
});
