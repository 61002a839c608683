// The SMTP cases of test:hostile against the relay: scripted sessions of raw bytes (commands out of order,
// bad addresses, AUTH abuse and brute force, STARTTLS injection, DATA smuggling and oversize, slow clients),
// the connection limit, and slowloris clients while a clean message is still served.
import { randomBytes } from 'node:crypto';
import { RawSmtp, type ReadResult } from '../lib/raw-smtp.ts';
import { describe, matches, plain, render, vars, type CaseResult, type Expect, type HostileContext, type Sendable } from './harness.ts';

export interface SmtpStep {
  send?: Sendable;
  expect?: Expect | Expect[];
  times?: number;
  timeoutMs?: number;
  starttls?: boolean;
  close?: boolean;
  wait?: number;
  queued?: string;
  count?: number;
  dribble?: Sendable;
  intervalMs?: number;
  maxMs?: number;
  sendRcpts?: number;
  expectEach?: string;
}
export interface SmtpCase {
  id: string;
  group: string;
  about: string;
  session?: 'raw' | 'greeted' | 'ehlo' | 'authed';
  from?: string;
  steps?: SmtpStep[];
  smuggle?: string;
  kind?: string;
}

/** One corpus case: a special kind, a smuggling sequence, or its own steps. */
export function runSmtpCase(ctx: HostileContext, c: SmtpCase): Promise<CaseResult> {
  const mid = `${c.id}-${randomBytes(6).toString('hex')}@hostile.test`;
  if (c.kind === 'max-clients') return maxClients(ctx);
  if (c.kind === 'slowloris-while-serving') return slowlorisWhileServing(ctx);
  return runSmtpSteps(ctx, c, c.smuggle !== undefined ? smuggleSteps(c.smuggle) : (c.steps ?? []), mid);
}

/** The final control: after everything, the relay still takes a clean message. */
export function cleanMessageAccepted(ctx: HostileContext): Promise<CaseResult> {
  return runSmtpSteps(
    ctx,
    { id: 'final', group: 'control', about: '', session: 'authed' },
    [
      { send: 'MAIL FROM:<a@x.test>\r\n', expect: '250' },
      { send: 'RCPT TO:<b@x.test>\r\n', expect: '250' },
      { send: 'DATA\r\n', expect: '354' },
      { send: '${MSG}\r\n.\r\n', expect: '250' },
    ],
    `final-${randomBytes(6).toString('hex')}@hostile.test`,
  );
}

async function session(ctx: HostileContext, c: SmtpCase): Promise<RawSmtp> {
  const s = await RawSmtp.connect(ctx.relayPort, c.from ? { localAddress: c.from } : {});
  const kind = c.session ?? 'authed';
  if (kind === 'raw') return s;
  const greet = await s.read(5000);
  if (!matches(greet, '220')) throw new Error(`greeting: ${describe(greet)}`);
  if (kind === 'greeted') return s;
  s.write('EHLO hostile.test\r\n');
  const ehlo = await s.read();
  if (!matches(ehlo, '250')) throw new Error(`EHLO: ${describe(ehlo)}`);
  if (kind === 'ehlo') return s;
  s.write(`AUTH PLAIN ${plain(ctx.main.username, ctx.main.password)}\r\n`);
  const auth = await s.read();
  if (!matches(auth, '235')) throw new Error(`AUTH: ${describe(auth)}`);
  return s;
}

function smuggleSteps(seq: string): SmtpStep[] {
  return [
    { send: 'MAIL FROM:<a@x.test>\r\n', expect: '250' },
    { send: 'RCPT TO:<b@x.test>\r\n', expect: '250' },
    { send: 'DATA\r\n', expect: '354' },
    {
      send:
        '${MSG}' +
        seq +
        'MAIL FROM:<evil@evil.test>\r\nRCPT TO:<victim@x.test>\r\nDATA\r\n' +
        'From: <ceo@x.test>\r\nSubject: smuggled\r\nMessage-ID: <smuggled-${MID}>\r\n\r\nwire the money\r\n.\r\n',
      expect: '5xx',
    },
    // Had the server ended the message at the smuggling sequence, the smuggled commands' answers follow.
    { expect: 'timeout', timeoutMs: 1500 },
    { queued: '${MID}', count: 0 },
    { queued: 'smuggled-${MID}', count: 0 },
  ];
}

async function runSmtpSteps(ctx: HostileContext, c: SmtpCase, steps: SmtpStep[], mid: string): Promise<CaseResult> {
  const got: string[] = [];
  const expected: string[] = [];
  const v = vars(ctx, mid);
  let s: RawSmtp;
  try {
    s = await session(ctx, c);
  } catch (err) {
    return { pass: false, got: [`session: ${(err as Error).message}`], expected: ['session'] };
  }
  try {
    for (const step of steps) {
      for (let i = 0; i < (step.times ?? 1); i++) {
        if (step.close) s.close();
        if (step.wait) await new Promise((r) => setTimeout(r, step.wait));
        if (step.starttls) {
          try {
            await s.starttls();
          } catch (err) {
            got.push(`tls failed: ${(err as Error).message}`);
            return { pass: false, got, expected };
          }
        }
        if (step.dribble !== undefined) await s.dribble(render(step.dribble, v), step.intervalMs ?? 500, step.maxMs ?? 10_000);
        if (step.sendRcpts) {
          s.write(Array.from({ length: step.sendRcpts }, (_, k) => `RCPT TO:<r${k}@x.test>\r\n`).join(''));
          for (let k = 0; k < step.sendRcpts; k++) {
            const r = await s.read(step.timeoutMs ?? 10_000);
            if (!matches(r, step.expectEach ?? '250')) {
              got.push(`rcpt ${k + 1}: ${describe(r)}`);
              expected.push(step.expectEach ?? '250');
              return { pass: false, got, expected };
            }
          }
        }
        if (step.send !== undefined) s.write(render(step.send, v));
        if (step.expect !== undefined) {
          const exps = Array.isArray(step.expect) ? step.expect : [step.expect];
          for (const e of exps) {
            const spec = typeof e === 'object' ? e.reply : String(e);
            const silent = /^silent:(\d+)$/.exec(spec);
            const r = await s.read(silent ? Number(silent[1]) : (step.timeoutMs ?? 10_000));
            const ok = silent ? r === 'timeout' : matches(r, e);
            got.push(silent && r === 'timeout' ? 'silent' : describe(r));
            expected.push(spec);
            if (!ok) return { pass: false, got, expected };
          }
        }
        if (step.queued !== undefined) {
          const id = render(step.queued, v);
          await new Promise((r) => setTimeout(r, 300));
          const n = await ctx.queuedCount(id);
          got.push(`queued ${n}`);
          expected.push(`queued ${step.count ?? 0}`);
          if (n !== (step.count ?? 0)) return { pass: false, got, expected };
        }
      }
    }
    return { pass: true, got, expected };
  } finally {
    s.close();
  }
}

async function maxClients(ctx: HostileContext): Promise<CaseResult> {
  const held: RawSmtp[] = [];
  const got: string[] = [];
  try {
    for (let i = 0; i < ctx.maxClients; i++) {
      const s = await RawSmtp.connect(ctx.relayPort);
      held.push(s);
      await s.read(3000);
    }
    const extra: ReadResult[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await RawSmtp.connect(ctx.relayPort);
      held.push(s);
      extra.push(await s.read(3000));
    }
    got.push(`extra: ${extra.map(describe).join(', ')}`);
    const refused = extra.every((r) => matches(r, '421|closed'));
    for (const s of held) s.close();
    await new Promise((r) => setTimeout(r, 500));
    const again = await RawSmtp.connect(ctx.relayPort);
    const g = await again.read(3000);
    again.close();
    got.push(`after: ${describe(g)}`);
    return { pass: refused && matches(g, '220'), got, expected: ['421 past the limit', '220 after'] };
  } finally {
    for (const s of held) s.close();
  }
}

async function slowlorisWhileServing(ctx: HostileContext): Promise<CaseResult> {
  const slow: RawSmtp[] = [];
  const dribbles: Promise<number>[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      const s = await RawSmtp.connect(ctx.relayPort);
      slow.push(s);
      await s.read(3000);
      dribbles.push(s.dribble(`EHLO ${'z'.repeat(100)}`, 300, 15_000));
    }
    const mid = `slow-${randomBytes(6).toString('hex')}@hostile.test`;
    const t0 = Date.now();
    const r = await runSmtpSteps(
      ctx,
      { id: 'served', group: 'slow', about: '', session: 'authed' },
      [
        { send: 'MAIL FROM:<a@x.test>\r\n', expect: '250' },
        { send: 'RCPT TO:<b@x.test>\r\n', expect: '250' },
        { send: 'DATA\r\n', expect: '354' },
        { send: '${MSG}\r\n.\r\n', expect: '250' },
      ],
      mid,
    );
    const ms = Date.now() - t0;
    return { pass: r.pass && ms < 10_000, got: [...r.got.slice(-1), `${ms} ms`], expected: ['250 within 10 s'] };
  } finally {
    for (const s of slow) s.close();
    await Promise.allSettled(dribbles);
  }
}
