// The Slack app manifests in docs/slack/ (written by `npm run slack:manifest -- --write`) declare everything the
// code uses: the command, the bot scopes of every Web API method called, the events listened to, and the request URL
// of HTTP mode.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { BOT_EVENTS, BOT_SCOPES, DEFAULT_SLASH_COMMAND, SLACK_EVENTS_PATH, WEB_API_METHOD_SCOPES } from '../../src/slack/ids.ts';
import { EXAMPLE_BASE_URL, slackManifest } from '../../src/slack/manifest.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (p: string) => JSON.parse(readFileSync(join(root, p), 'utf8')) as Manifest;

interface Manifest {
  features: { app_home: Record<string, boolean>; slash_commands: { command: string; url?: string }[] };
  oauth_config: { scopes: { bot: string[] } };
  settings: { event_subscriptions: { bot_events: string[]; request_url?: string }; interactivity: { is_enabled: boolean; request_url?: string }; socket_mode_enabled: boolean };
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}
const slackCode = sources(join(root, 'src/slack'))
  .map((p) => readFileSync(p, 'utf8'))
  .join('\n');

describe('docs/slack/manifest.json (Socket Mode) and docs/slack/manifest.http.json (HTTP mode)', () => {
  const socket = read('docs/slack/manifest.json');
  const http = read('docs/slack/manifest.http.json');

  it('are what the code generates (npm run slack:manifest -- --write)', () => {
    expect(socket).toEqual(slackManifest({ mode: 'socket' }));
    expect(http).toEqual(slackManifest({ mode: 'http', baseUrl: EXAMPLE_BASE_URL }));
  });

  it.each([
    ['socket', socket],
    ['http', http],
  ] as const)('%s: the command, every scope and event, interactivity and the home tab', (_mode, m) => {
    expect(m.features.slash_commands.map((c) => c.command)).toEqual([DEFAULT_SLASH_COMMAND]);
    expect(loadConfig({}).slack.command).toBe(DEFAULT_SLASH_COMMAND);
    for (const scope of BOT_SCOPES) expect(m.oauth_config.scopes.bot).toContain(scope);
    for (const event of BOT_EVENTS) expect(m.settings.event_subscriptions.bot_events).toContain(event);
    expect(m.settings.interactivity.is_enabled).toBe(true);
    expect(m.features.app_home.home_tab_enabled).toBe(true);
    expect(m.features.app_home.messages_tab_enabled).toBe(true);
  });

  it('Socket Mode needs no URL; HTTP mode sends commands, interactivity and events to /slack/events', () => {
    expect(socket.settings.socket_mode_enabled).toBe(true);
    expect(JSON.stringify(socket)).not.toContain('http');
    expect(http.settings.socket_mode_enabled).toBe(false);
    const urls = [http.features.slash_commands[0]!.url, http.settings.event_subscriptions.request_url, http.settings.interactivity.request_url];
    for (const url of urls) expect(new URL(url!).pathname).toBe(SLACK_EVENTS_PATH);
  });

  it('covers every Web API method the Slack code calls with its scope', () => {
    const called = new Set([...slackCode.matchAll(/\bclient\.((?:chat|views|conversations|usergroups\.users|users|auth)\.\w+)\(/g)].map((m) => m[1]!));
    expect(called.size).toBeGreaterThan(5);
    for (const method of called) {
      expect(Object.keys(WEB_API_METHOD_SCOPES), `${method} is called but not declared in WEB_API_METHOD_SCOPES`).toContain(method);
      const scope = WEB_API_METHOD_SCOPES[method as keyof typeof WEB_API_METHOD_SCOPES];
      if (scope) expect(socket.oauth_config.scopes.bot).toContain(scope);
    }
  });

  it('subscribes to every event the code listens to', () => {
    const listened = [...slackCode.matchAll(/app\.event\('([a-z_]+)'/g)].map((m) => m[1]!);
    expect(listened.length).toBeGreaterThan(0);
    for (const e of listened) expect(socket.settings.event_subscriptions.bot_events).toContain(e);
  });
});
