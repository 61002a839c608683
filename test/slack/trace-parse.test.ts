// Pure parsers and builders of this feature, as tables with hostile input: what a user types for
// /smtp trace, request and --since; and the confirm every destructive button carries.
import { describe, expect, it } from 'vitest';
import { parseSince, parseTraceQuery } from '../../src/domain/index.ts';
import { button, destructiveConfirm } from '../../src/slack/blocks/common.ts';
import { ACTION } from '../../src/slack/ids.ts';
import { parseSubcommand } from '../../src/slack/commands/parse.ts';

describe('parseTraceQuery', () => {
  it.each([
    ['Alice@Example.COM', { kind: 'recipient', value: 'alice@example.com' }],
    ['<mailto:bob@example.com|bob@example.com>', { kind: 'recipient', value: 'bob@example.com' }],
    ['<abc.123@mail.example.com>', { kind: 'message-id', value: '<abc.123@mail.example.com>' }],
    ['abc.123@localhost', { kind: 'message-id', value: '<abc.123@localhost>' }],
    ['65F0AB12CD34EF56AB78CD90', { kind: 'queue-id', value: '65f0ab12cd34ef56ab78cd90' }],
    ['  bob@example.com  ', { kind: 'recipient', value: 'bob@example.com' }],
  ] as const)('%j -> %j', (input, expected) => {
    expect(parseTraceQuery(input)).toEqual(expected);
  });

  it.each([
    '',
    '   ',
    'not an address',
    'bob@example.com\r\nRCPT TO:<x@y>',
    'a\u0000b@example.com',
    '{"$ne":null}',
    '<<nested>@x>',
    `${'a'.repeat(400)}@example.com`,
    '65f0ab12cd34ef56ab78cd9', // 23 hex digits
    '@example.com',
  ])('refuses %j', (input) => {
    expect(parseTraceQuery(input)).toBeNull();
  });
});

describe('parseSince', () => {
  it.each([
    ['30m', 1_800_000],
    ['12h', 43_200_000],
    ['7d', 604_800_000],
    ['2W', 1_209_600_000],
  ] as const)('%s', (input, ms) => expect(parseSince(input)).toBe(ms));
  it.each(['', '7', 'd7', '0d', '-1d', '1.5h', '99999d', '7 days', '1y'])('refuses %j', (input) => expect(parseSince(input)).toBeNull());
});

describe('/smtp request and /smtp trace grammar', () => {
  it.each([
    ['request billing-receipts', { kind: 'request', name: 'billing-receipts' }],
    ['request billing-receipts for the invoices app', { kind: 'request', name: 'billing-receipts', reason: 'for the invoices app' }],
    ['request "staging checkout" qa', { kind: 'request', name: 'staging checkout', reason: 'qa' }],
    ['trace bob@example.com', { kind: 'trace', query: 'bob@example.com' }],
    ['trace bob@example.com --since 7d', { kind: 'trace', query: 'bob@example.com', sinceMs: 604_800_000 }],
    ['find --since=12h <id@host>', { kind: 'trace', query: '<id@host>', sinceMs: 43_200_000 }],
  ] as const)('%j', (input, expected) => expect(parseSubcommand(input)).toEqual(expected));

  it.each([
    ['request', /needs an account name/],
    ['trace', /`trace` takes/],
    ['trace a@b.c d@e.f', /`trace` takes/],
    ['trace a@b.c --since', /`--since` takes a duration/],
    ['trace a@b.c --since forever', /`--since` takes a duration/],
  ])('%j -> help', (input, problem) => {
    const sub = parseSubcommand(input);
    expect(sub.kind).toBe('help');
    expect((sub as { problem?: string }).problem).toMatch(problem);
  });
});

describe('confirm on destructive buttons (the shared builder)', () => {
  it.each([
    ACTION.disable,
    ACTION.rotate,
    ACTION.delete,
    ACTION.idleDisable,
    ACTION.idleDelete,
    ACTION.surgeDisable,
    ACTION.requestDeny,
    'smtpdesk_leak_disable',
    'smtpdesk_account_pause',
  ])('%s asks first, in red', (id) => {
    const b = button('Disable now', id, 'x');
    expect(b.confirm?.style).toBe('danger');
    expect(b.confirm?.confirm?.text).toMatch(/^Yes, /);
    expect(b.confirm?.deny?.text).toBe('Cancel');
  });

  it.each([ACTION.enable, ACTION.refreshHome, ACTION.create, ACTION.limits, ACTION.idleKeep, ACTION.surgeExpected])('%s acts at once', (id) => {
    expect(button('Go', id, 'x').confirm).toBeUndefined();
    expect(destructiveConfirm('Go', id)).toBeUndefined();
  });

  it('a label with mrkdwn or an overlong one stays within Slack’s limits', () => {
    const b = button(`<!channel> ${'x'.repeat(200)} (7 days)`, ACTION.delete, 'v');
    expect(b.confirm!.title!.text.length).toBeLessThanOrEqual(100);
    expect(b.confirm!.confirm!.text.length).toBeLessThanOrEqual(30);
    expect(b.confirm!.text.text).not.toContain('<!channel>');
  });
});
