// smtp-server offers no hook for the strict-base64 check, so it leans on its internals (connection-hooks.ts): it
// wraps a connection's `_onCommand` (and `send`, for replies with their own enhanced code), reads the SASL step
// from the name of `_nextHandler` ("bound PLAIN_token", "bound LOGIN_username/password"), and waits with
// `_whenWritable` unless `_upgrading`. package.json pins the exact version; this test fails the day an upgrade
// moves any of them, before the defence silently stops working. (The slow-loris deadline and shutdown use public
// parts only: line-deadline.ts, busy-sessions.ts.)
import { readFileSync } from 'node:fs';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawSmtpClient } from '../helpers/smtp-client.ts';

type Internals = {
  _onCommand?: unknown;
  _whenWritable?: unknown;
  _upgrading?: unknown;
  _nextHandler?: false | { name: string };
};

let server: SMTPServer;
let port: number;

beforeAll(async () => {
  server = new SMTPServer({
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    logger: false,
    onAuth: (_auth, _session, cb) => cb(null, { user: 'u' }),
  });
  port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.server.address() as { port: number }).port)));
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

const only = () => [...server.connections][0] as unknown as Internals;
/** The name of the SASL step the connection waits in, or false. */
const step = () => {
  const next = only()._nextHandler;
  return next ? next.name : next;
};

describe('the smtp-server internals the relay relies on', () => {
  it('is the exact version package.json pins', () => {
    const pinned = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> }).dependencies['smtp-server'];
    const installed = (JSON.parse(readFileSync(new URL('../../node_modules/smtp-server/package.json', import.meta.url), 'utf8')) as { version: string }).version;
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(installed).toBe(pinned);
  });

  it('names the SASL steps and keeps the connection methods the base64 check wraps', async () => {
    const c = await RawSmtpClient.connect(port);
    try {
      expect((await c.command('EHLO contract.test')).code).toBe(250);
      expect(typeof only()._onCommand).toBe('function');
      expect(typeof only()._whenWritable).toBe('function');
      expect(only()._upgrading).toBe(false);
      expect((await c.command('AUTH PLAIN')).code).toBe(334);
      expect(step()).toBe('bound PLAIN_token');
      expect((await c.command('*')).code).toBe(501);
      expect((await c.command('AUTH LOGIN')).code).toBe(334);
      expect(step()).toBe('bound LOGIN_username');
      expect((await c.command(Buffer.from('user').toString('base64'))).code).toBe(334);
      expect(step()).toBe('bound LOGIN_password');
      expect((await c.command(Buffer.from('pass').toString('base64'))).code).toBe(235);
      expect(only()._nextHandler).toBe(false);
    } finally {
      c.close();
    }
  });
});
