// /smtp domains and /smtp suppressions as people in Slack use them: the lists with their state, the add-domain
// modal that ends with the DNS record to publish, and who may do what.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSuppression, suppressHardBounces, type Actor } from '../../src/domain/index.ts';
import { ADMIN, MEMBER, RESPONDER, startSlackHarness, textOf, actionIdsOf, type SlackHarness } from '../helpers/slack.ts';

const SECRET = 'q0kK1n7tqzJ3yG2b9r2m5oYxJp8nW6c4Vd1sLe0aUfI=';
let h: SlackHarness;
let ws: string;
const ops: Actor = { source: 'cli', id: 'ops', name: 'ops', roles: ['admin'] };
type View = Record<string, unknown>;

beforeAll(async () => {
  h = await startSlackHarness({ env: { SMTPDESK_SECRET_KEY: SECRET } });
  ws = await h.workspaceId();
});
afterAll(async () => {
  await h?.close();
});

async function ask(text: string, user = ADMIN): Promise<{ text: string; args: Record<string, unknown> }> {
  const r = await h.command(text, user);
  expect(r.status).toBe(200);
  const [answer] = await h.responses(r.responseUrl);
  return { text: textOf(answer!.args), args: answer!.args };
}

async function submitJson(view: View, values: Record<string, Record<string, unknown>>, user = ADMIN) {
  const r = await h.submit(view, values, user);
  expect(r.status).toBe(200);
  return r.body ? (JSON.parse(r.body) as { response_action?: string; errors?: Record<string, string>; view?: View }) : {};
}

const domainInput = (value: string) => ({ smtpdesk_domain_name: { smtpdesk_domain_name_input: { type: 'plain_text_input', value } } });

describe('/smtp domains', () => {
  it('an admin adds a domain from the modal and is shown the exact TXT record to publish', async () => {
    const r = await h.command('domains add acme.test', ADMIN);
    const view = await h.api.modal(r.triggerId);
    expect(view.callback_id).toBe('smtpdesk_view_domain_add');
    const answer = await submitJson(view, domainInput('acme.test'));
    expect(answer.response_action).toBe('update');
    const text = textOf(answer.view);
    const selector = `sd${new Date().toISOString().slice(0, 7).replace('-', '')}`;
    expect(text).toContain(`${selector}._domainkey.acme.test`);
    expect(text).toMatch(/v=DKIM1; k=rsa; p=MII[A-Za-z0-9+/=]+/);
    expect(text).not.toContain('PRIVATE');

    const again = await submitJson(view, domainInput('acme.test'));
    expect(again.response_action).toBe('errors');
    expect(again.errors?.smtpdesk_domain_name).toBe('The domain "acme.test" is registered already.');
    const bad = await submitJson(view, domainInput('not a domain'));
    expect(bad.errors?.smtpdesk_domain_name).toContain('is not a domain name');
  });

  it('lists the domains with their state for everyone; only admins get the Add button', async () => {
    const member = await ask('domains', MEMBER);
    expect(member.text).toMatch(/\*acme\.test\*\s+:large_yellow_circle: Pending DNS/);
    expect(member.text).toContain('._domainkey.acme.test');
    expect(actionIdsOf(member.args)).not.toContain('smtpdesk_domain_add');
    const admin = await ask('domains', ADMIN);
    expect(actionIdsOf(admin.args)).toContain('smtpdesk_domain_add');
  });

  it('refuses the add modal to a member, saying who may', async () => {
    const r = await h.command('domains add other.test', MEMBER);
    const view = await h.api.modal(r.triggerId);
    expect(textOf(view)).toContain('Only admins may manage sending domains and their DKIM keys.');
  });
});

describe('/smtp suppressions', () => {
  it('lists hard-bounced addresses with the date and the answer for admins and responders, not members', async () => {
    await suppressHardBounces(h.rt.ctx, ws, [
      { address: 'ghost@example.test', reply: '550 5.1.1 <ghost@example.test>: User unknown', answer: { replyCode: 550, enhancedStatus: '5.1.1', stage: 'RCPT TO' } },
    ]);
    await addSuppression(h.rt.ctx, ops, ws, 'optout@example.test', 'asked us to stop');
    const a = await ask('suppressions', RESPONDER);
    expect(a.text).toMatch(/`ghost@example\.test` since \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC — hard bounce: 550 5\.1\.1 &lt;ghost@example\.test&gt;: User unknown/);
    expect(a.text).toMatch(/`optout@example\.test` since .* — added by ops \(cli\): asked us to stop/);
    const m = await ask('suppressions', MEMBER);
    expect(m.text).toContain('Only admins and security responders may see the suppression list.');
  });

  it('an admin removes an address; a responder may not', async () => {
    const refused = await ask('suppressions remove ghost@example.test', RESPONDER);
    expect(refused.text).toContain('Only admins may change the suppression list.');
    const done = await ask('suppressions remove ghost@example.test', ADMIN);
    expect(done.text).toContain('`ghost@example.test` is off the suppression list');
    expect((await ask('suppressions', ADMIN)).text).not.toContain('ghost@example.test');
    const audit = await h.rt.ctx.audit.list(ws, { limit: 5 });
    expect(audit[0]).toMatchObject({ action: 'suppression.removed', actor: { source: 'slack', id: ADMIN.id } });
  });
});
