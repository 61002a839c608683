// The Slack cases of test:hostile against the Slack role's HTTP endpoint: a slash command signed right,
// forged, stale or not at all.
import { createHmac } from 'node:crypto';
import { httpCall, statusMatches, type CaseResult, type HostileContext } from './harness.ts';

export interface SlackCase {
  id: string;
  group: string;
  about: string;
  sign: string;
  expect: number | string;
}

export async function runSlackCase(ctx: HostileContext, c: SlackCase): Promise<CaseResult> {
  const SLACK_SECRET = ctx.slackSecret;
  const body = new URLSearchParams({
    token: 'unused',
    team_id: 'THOSTILE',
    team_domain: 'hostile',
    channel_id: 'CHOSTILE',
    user_id: 'UHOSTILE',
    user_name: 'mallory',
    command: '/smtp',
    text: 'help',
    response_url: `${ctx.slackApiUrl.replace(/\/api\/?$/, '')}/response/1`,
    trigger_id: '1.2.3',
  }).toString();
  const ts = Math.floor(Date.now() / 1000) - (c.sign === 'stale' ? 600 : 0);
  const sig = (secret: string) => `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (c.sign !== 'none') {
    headers['x-slack-request-timestamp'] = String(ts);
    headers['x-slack-signature'] = sig(c.sign === 'forged' ? `x${SLACK_SECRET}` : SLACK_SECRET);
  }
  const r = await httpCall('POST', '/slack/events', headers, Buffer.from(body), { port: ctx.slackPort });
  return { pass: statusMatches(r.status, c.expect), got: [String(r.status)], expected: [String(c.expect)] };
}
