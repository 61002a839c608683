// Socket Mode: with SLACK_APP_TOKEN the app opens a WebSocket (apps.connections.open) instead of listening,
// acknowledges each envelope over it, and answers as in HTTP mode.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { ADMIN, TEAM, startSlackHarness, textOf, type SlackHarness } from '../helpers/slack.ts';

let wss: WebSocketServer;
let h: SlackHarness;
let socket: WebSocket | undefined;
const received: Record<string, unknown>[] = [];

beforeAll(async () => {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) => {
    socket = ws;
    ws.on('message', (data) => received.push(JSON.parse((data as Buffer).toString()) as Record<string, unknown>));
    ws.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A1' }, debug_info: { host: 'test' } }));
  });
  const port = (wss.address() as { port: number }).port;
  h = await startSlackHarness({ env: { SLACK_APP_TOKEN: 'xapp-1-test', SLACK_SIGNING_SECRET: '' }, beforeStart: (api) => (api.socketUrl = `ws://127.0.0.1:${port}/link`) });
});
afterAll(async () => {
  await h?.close();
  for (const c of wss?.clients ?? []) c.terminate();
  await new Promise((r) => wss?.close(r));
});

async function waitForAck(envelopeId: string): Promise<Record<string, unknown>> {
  const until = Date.now() + 5000;
  for (;;) {
    const ack = received.find((m) => m.envelope_id === envelopeId);
    if (ack) return ack;
    if (Date.now() > until) throw new Error(`no ack for ${envelopeId}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Socket Mode', () => {
  it('connects with the app token, then acks a slash command envelope and answers through its response_url', async () => {
    expect(h.running.slack.mode).toBe('socket');
    expect(h.api.of('apps.connections.open')).toHaveLength(1);
    const responseUrl = h.api.responseUrl();
    socket!.send(
      JSON.stringify({
        envelope_id: 'env-1',
        type: 'slash_commands',
        accepts_response_payload: true,
        payload: {
          team_id: TEAM.id,
          team_domain: TEAM.domain,
          channel_id: 'C1',
          user_id: ADMIN.id,
          user_name: ADMIN.name,
          command: '/smtp',
          text: 'usage',
          response_url: responseUrl,
          trigger_id: 't1',
          api_app_id: 'A1',
        },
      }),
    );
    await waitForAck('env-1');
    const [answer] = await h.responses(responseUrl);
    expect(textOf(answer!.args)).toMatch(/0 of 5 used/);
  });

  it('publishes App Home on app_home_opened and drops a re-delivered envelope of the same event', async () => {
    const event = {
      token: 't',
      team_id: TEAM.id,
      api_app_id: 'A1',
      type: 'event_callback',
      event_id: 'EvSock1',
      event_time: 1,
      authorizations: [{ team_id: TEAM.id, user_id: 'UBOT', is_bot: true }],
      event: { type: 'app_home_opened', user: ADMIN.id, channel: 'D1', tab: 'home', event_ts: '1.1' },
    };
    socket!.send(JSON.stringify({ envelope_id: 'env-2', type: 'events_api', accepts_response_payload: false, retry_attempt: 0, retry_reason: '', payload: event }));
    socket!.send(JSON.stringify({ envelope_id: 'env-3', type: 'events_api', accepts_response_payload: false, retry_attempt: 1, retry_reason: 'timeout', payload: event }));
    await waitForAck('env-2');
    await waitForAck('env-3');
    await h.api.nth('views.publish');
    await new Promise((r) => setTimeout(r, 300));
    expect(h.api.of('views.publish')).toHaveLength(1);
  });
});
