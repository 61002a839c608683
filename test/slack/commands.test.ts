// The slash command, subcommand by subcommand, as a user in Slack sees the answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, disableAccount, recordAcceptedMessage, recordDeliveryOutcome, reserveQuota, type Actor } from '../../src/domain/index.ts';
import { formatDate } from '../../src/shared/format.ts';
import { ADMIN, MEMBER, RESPONDER, startSlackHarness, textOf, type SlackHarness } from '../helpers/slack.ts';

let h: SlackHarness;
let ws: string;
const cli: Actor = { source: 'cli', id: 'ops', name: 'ops', roles: ['admin'] };

beforeAll(async () => {
  h = await startSlackHarness();
  ws = await h.workspaceId();
  const prod = await createAccount(h.rt.ctx, cli, ws, 'production-transactional');
  await reserveQuota(h.rt.ctx, ws, '10k', 4);
  await recordAcceptedMessage(h.rt.ctx, prod.account, 4);
  await recordDeliveryOutcome(h.rt.ctx, prod.account, { delivered: 3, bounced: 1 });
  await createAccount(h.rt.ctx, cli, ws, 'staging-checkout');
  await disableAccount(h.rt.ctx, cli, ws, 'staging-checkout', 'maintenance', 'db migration');
});
afterAll(async () => {
  await h?.close();
});

/** Runs `/smtp text` and returns what the user reads in the ephemeral answer. */
async function ask(text: string, user = ADMIN): Promise<{ text: string; ephemeral: boolean }> {
  const r = await h.command(text, user);
  expect(r.status).toBe(200);
  const [answer] = await h.responses(r.responseUrl);
  return { text: textOf(answer!.args), ephemeral: answer!.args.response_type === 'ephemeral' };
}

describe('/smtp help and bad input', () => {
  it('help lists every subcommand, privately', async () => {
    const a = await ask('help');
    expect(a.ephemeral).toBe(true);
    for (const sub of ['list', 'show NAME', 'create [NAME]', 'rotate NAME', 'disable NAME [reason]', 'enable NAME', 'delete NAME', 'usage', 'plan', 'audit [NAME]', 'help']) {
      expect(a.text).toContain(`/smtp ${sub}`);
    }
  });

  it.each([
    ['frobnicate', /Unknown subcommand "frobnicate"/],
    ['list --idle soon', /--idle.*number of days/],
    ['show', /needs an account name/],
  ])('%j answers with the help and what was wrong', async (input, problem) => {
    const a = await ask(input);
    expect(a.ephemeral).toBe(true);
    expect(a.text).toMatch(problem);
    expect(a.text).toContain('/smtp list');
    expect(a.text).not.toMatch(/at .*\.ts:\d+|Error:/);
  });
});

describe('/smtp list', () => {
  it('shows name, username, status, total sent, this month, delivery rate, last used and creation date', async () => {
    const accounts = await h.rt.ctx.accounts.listByWorkspace(ws);
    const a = await ask('list', MEMBER);
    for (const acc of accounts) {
      expect(a.text).toContain(acc.name);
      expect(a.text).toContain(acc.username);
    }
    expect(a.text).toMatch(/production-transactional.*Active/);
    expect(a.text).toMatch(/staging-checkout.*Disabled/);
    expect(a.text).toContain('Total sent 4');
    expect(a.text).toContain('This month 4');
    expect(a.text).toContain('Delivery 75.0%');
    expect(a.text).toMatch(/Last used (just now|\d+ minutes? ago)/);
    expect(a.text).toContain('Last used never');
    expect(a.text).toContain(`Created ${formatDate(new Date())}`);
    expect(a.text).toContain('Activity *Active*');
    expect(a.text).toContain('Activity *Never used*');
  });

  it('--idle DAYS keeps only accounts idle that long', async () => {
    const none = await ask('list --idle 1');
    expect(none.text).toContain('No account has been idle for 1 days or more');
    const all = await ask('list --idle 0');
    expect(all.text).toContain('staging-checkout');
    expect(all.text).toContain('production-transactional');
  });
});

describe('/smtp show', () => {
  it('shows one account, found ignoring case', async () => {
    const a = await ask('show PRODUCTION-Transactional', MEMBER);
    expect(a.text).toContain('production-transactional');
    expect(a.text).toMatch(/Queued now\*?\n0/);
    expect(a.text).toMatch(/Delivered \/ bounced\*?\n3 \/ 1/);
    expect(a.text).toMatch(/Activity\*?\nActive/);
    // Today's 4 emails at the end of the 30 days; 3 of 4 delivered, nothing before to compare with.
    expect(a.text).toMatch(/Sent, last 30 days\*?\n`▁{29}█` 4/);
    expect(a.text).toMatch(/Delivery trend\*?\n75\.0%/);
    // The 30-day rates, later bounces and complaints included: 1 bounce of 4 outcomes.
    expect(a.text).toMatch(/Bounce rate, 30 days\*?\n25\.0 % \(1 of 4, later bounces included\)/);
    expect(a.text).toMatch(/Complaint rate, 30 days\*?\n0\.00 % \(0\)/);
  });

  it('says "did you mean" on a near miss', async () => {
    const a = await ask('show producton-transactional');
    expect(a.text).toContain('No account named "producton-transactional". Did you mean "production-transactional"?');
  });

  it('shows why a disabled account was disabled', async () => {
    const a = await ask('show staging-checkout');
    expect(a.text).toMatch(/Disabled .* by ops \(cli\): \*maintenance\* — “db migration”/);
  });
});

describe('/smtp usage and plan', () => {
  it('usage shows emails of the quota and slots of the plan with progress bars', async () => {
    const a = await ask('usage', MEMBER);
    expect(a.text).toMatch(/░+ 0%`\s+4 of 10,000/);
    expect(a.text).toMatch(/▓+░+ 40%`\s+2 of 5 used/);
    expect(a.text).toContain('Top consumers of the');
    expect(a.text).toMatch(/1\. \*production-transactional\* — 4 emails, <0\.1% of the quota \(100\.0% of this month's mail\)/);
  });

  it('plan shows the plan, the plans there are and the next one up', async () => {
    const a = await ask('plan', MEMBER);
    expect(a.text).toContain('Plan of acme: 10k');
    expect(a.text).toContain('Next plan up: *20k*');
    expect(a.text).toContain('*100k*: 100,000 emails/month, 50 accounts');
    expect(a.text).toContain('Admins can change it.');
  });

  it('plan set is refused to members, naming the admins', async () => {
    const a = await ask('plan set 20k', MEMBER);
    expect(a.text).toContain('Only admins may change the plan. Ask <@UADMIN>.');
    expect((await h.rt.ctx.workspaces.findById(ws))!.planId).toBe('10k');
  });

  it('plan set changes the plan for an admin', async () => {
    const a = await ask('plan set 20k');
    expect(a.text).toContain('is on the *20k* plan');
    expect((await h.rt.ctx.workspaces.findById(ws))!.planId).toBe('20k');
    const bad = await ask('plan set 7k');
    expect(bad.text).toContain('Unknown plan "7k"');
  });
});

describe('/smtp audit', () => {
  it('is for admins and responders; members are told who may', async () => {
    const refused = await ask('audit', MEMBER);
    expect(refused.text).toContain('Only admins and security responders may read the audit log. Ask <@UADMIN>, <!subteam^SRESP>.');
    const a = await ask('audit staging-checkout', RESPONDER);
    expect(a.text).toContain('Audit log of staging-checkout');
    expect(a.text).toMatch(/ops \(cli\) account.disabled \*staging-checkout\* — reason: maintenance, note: db migration/);
    expect(a.text).not.toContain('production-transactional');
    // The install that created the workspace is named, not mentioned as if the team id were a person.
    const all = await ask('audit', ADMIN);
    expect(all.text).toMatch(/Slack install \(slack\) workspace\.created — name: \S+, plan: 10k/);
    expect(all.text).not.toMatch(/<@T/);
  });
});

describe('failures', () => {
  it('a Slack API failure answers with a short message and a code, logs the code, never a stack trace', async () => {
    h.api.fail('views.open', 'expired_trigger_id');
    const a = await ask('create too-late');
    expect(a.ephemeral).toBe(true);
    expect(a.text).toContain('Something went wrong on our side (code SLACK_REQUEST_FAILED)');
    expect(a.text).not.toMatch(/expired_trigger_id|at .*\.ts|Error/);
    const line = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.code === 'SLACK_REQUEST_FAILED');
    expect(line).toMatchObject({ op: 'command.create', err: { error: 'expired_trigger_id' } });
  });
});

describe('metrics', () => {
  it('counts commands by result', async () => {
    const text = await h.rt.metrics.registry.getSingleMetricAsString('smtpdesk_slack_requests_total');
    expect(text).toMatch(/smtpdesk_slack_requests_total\{kind="command",result="ok"\} \d+/);
    expect(text).toMatch(/smtpdesk_slack_requests_total\{kind="command",result="help"\} \d+/);
  });
});
