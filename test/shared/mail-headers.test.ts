// One reader of headers and addresses, under hostile input: the relay's sender guard, DKIM's signing domain and
// the bounce notice must read the same From: (and the same Subject) from the same bytes.
import type { SMTPServerSession } from 'smtp-server';
import { describe, expect, it } from 'vitest';
import { buildBounceMessage } from '../../src/delivery/bounce.ts';
import { headerFromDomain } from '../../src/delivery/dkim-signer.ts';
import type { SmtpPrincipal } from '../../src/domain/index.ts';
import type { Logger } from '../../src/log.ts';
import type { RefusalCounter } from '../../src/relay/hourly-counts.ts';
import { headerSummary } from '../../src/relay/message-scanner.ts';
import { assertHeaderSenderAllowed } from '../../src/relay/sender-guard.ts';
import { headerBlockOf, headerFields, readFrom } from '../../src/shared/mail-headers.ts';

const message = (header: string) => Buffer.from(`${header}\r\nTo: x@example.org\r\nSubject: hi\r\n\r\nFrom: body@not.this\r\n`);

/** What the guard says for an account allowed to send as *@acme.test: 'ok', or the 550 text. */
function guard(header: string): string {
  const principal = { accountId: 'a1', workspaceId: 'w1', username: 'smtp-test', credentialVersion: 1, policy: { allowedSenders: ['acme.test'] } } as unknown as SmtpPrincipal;
  const session = { id: 's1', remoteAddress: '127.0.0.1', envelope: { mailFrom: false, rcptTo: [] } } as unknown as SMTPServerSession;
  const deps = { log: { warn: () => undefined } as unknown as Logger, refusals: { add: () => undefined } as unknown as RefusalCounter };
  try {
    assertHeaderSenderAllowed(deps, session, principal, message(header));
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
}

const addressesOf = (header: string) => {
  const from = readFrom(headerFields(message(header)));
  return from.kind === 'single' ? from.mailboxes.map((m) => m.address) : from.kind;
};

describe('the From: header, read once for the guard and for DKIM', () => {
  // [header as sent, addresses read, DKIM signing domain, the guard's answer for *@acme.test]
  it.each<[string, string[] | string, string | undefined, string | RegExp]>([
    // Display names that hold an address are names: the angle address is the sender.
    ['From: "Evil <ceo@bank.test>" <me@acme.test>', ['me@acme.test'], 'acme.test', 'ok'],
    ['From: "ceo@bank.test" <me@acme.test>', ['me@acme.test'], 'acme.test', 'ok'],
    ['From: "me@acme.test" <ceo@bank.test>', ['ceo@bank.test'], 'bank.test', /^Header From <ceo@bank\.test> is not an allowed sender/],
    ['From: me@acme.test <ceo@bank.test>', ['ceo@bank.test'], 'bank.test', /^Header From <ceo@bank\.test>/],
    // Two angle addresses in one mailbox: the first one counts, for the guard and DKIM alike.
    ['From: Evil <ceo@bank.test> <me@acme.test>', ['ceo@bank.test'], 'bank.test', /^Header From <ceo@bank\.test>/],
    // Comments are comments, wherever they are.
    ['From: me@acme.test (ceo@bank.test)', ['me@acme.test'], 'acme.test', 'ok'],
    ['From: (ceo@bank.test) me@acme.test', ['me@acme.test'], 'acme.test', 'ok'],
    ['From: ceo@bank.test (me@acme.test)', ['ceo@bank.test'], 'bank.test', /^Header From <ceo@bank\.test>/],
    // Encoded words are display text, never an address.
    ['From: =?utf-8?q?ceo@bank.test?= <me@acme.test>', ['me@acme.test'], 'acme.test', 'ok'],
    ['From: =?utf-8?B?Y2VvQGJhbmsudGVzdA==?= <me@acme.test>', ['me@acme.test'], 'acme.test', 'ok'],
    ['From: =?utf-8?q?ceo=40bank.test?=', [''], undefined, /^Header From <=\?utf-8\?q\?ceo=40bank\.test\?=> is not a valid address \(no address\)/],
    // Groups: their members (all must be allowed); an empty group has no address at all.
    ['From: team: me@acme.test, ceo@bank.test;', ['me@acme.test', 'ceo@bank.test'], 'acme.test', /^Header From <ceo@bank\.test>/],
    ['From: team: me@acme.test;', ['me@acme.test'], 'acme.test', 'ok'],
    ['From: undisclosed-recipients:;', [], undefined, /^Header From <> is not a valid address \(no address\)/],
    // A list: every address must be allowed; DKIM takes the first.
    ['From: me@acme.test, ceo@bank.test', ['me@acme.test', 'ceo@bank.test'], 'acme.test', /^Header From <ceo@bank\.test>/],
    ['From: "Doe, Jane" <jane@acme.test>', ['jane@acme.test'], 'acme.test', 'ok'],
    // Folded lines are one field.
    ['From: Jane\r\n <jane@acme.test>', ['jane@acme.test'], 'acme.test', 'ok'],
    ['From:\r\n\t"Evil <ceo@bank.test>"\r\n <me@acme.test>', ['me@acme.test'], 'acme.test', 'ok'],
    // Malformed addresses are refused by the guard and signed by nobody.
    ['From: ceo@bank.test@acme.test', ['ceo@bank.test@acme.test'], undefined, /is not a valid address \(characters not allowed in the local part\)/],
    ['From: <me@acme.test', ['me@acme.test'], 'acme.test', 'ok'],
    ['From: undisclosed', [''], undefined, /^Header From <undisclosed> is not a valid address/],
    ['From: me@[127.0.0.1]', ['me@[127.0.0.1]'], undefined, /address literals are not delivered/],
    ['From:', [], undefined, /no address/],
    // Case and the obsolete space before the colon change nothing.
    ['FROM: me@ACME.test', ['me@ACME.test'], 'acme.test', 'ok'],
    ['From : ceo@bank.test', ['ceo@bank.test'], 'bank.test', /^Header From <ceo@bank\.test>/],
    ['from: jo@exämple.test', ['jo@exämple.test'], 'xn--exmple-cua.test', /^Header From <jo@exämple\.test>/],
    // Two From: fields: readers differ on which they show, so nobody signs and the relay refuses, whatever the rules.
    ['From: me@acme.test\r\nFrom: ceo@bank.test', 'duplicate', undefined, 'Message refused: it has 2 From: headers; RFC 5322 allows exactly one'],
    ['From: me@acme.test\r\nSubject: x\r\nfrom : me@acme.test', 'duplicate', undefined, /2 From: headers/],
    // No From: at all: nothing to check or sign for.
    ['Sender: ceo@bank.test', 'absent', undefined, 'ok'],
    // A From: in the body (after the empty line) is not a header.
    ['X-Note: the header ends here\r\n\r\nFrom: ceo@bank.test', 'absent', undefined, 'ok'],
  ])('%j', (header, addresses, dkimDomain, verdict) => {
    expect(addressesOf(header)).toEqual(addresses);
    expect(headerFromDomain(message(header))).toBe(dkimDomain);
    const answer = guard(header);
    if (typeof verdict === 'string') expect(answer).toBe(verdict);
    else expect(answer).toMatch(verdict);
  });

  it('refuses a second From: for an account without allowed senders too', () => {
    const session = { id: 's1', remoteAddress: '127.0.0.1', envelope: { mailFrom: false, rcptTo: [] } } as unknown as SMTPServerSession;
    const principal = { username: 'u', policy: { allowedSenders: [] } } as unknown as SmtpPrincipal;
    const deps = { log: { warn: () => undefined } as unknown as Logger, refusals: { add: () => undefined } as unknown as RefusalCounter };
    expect(() => assertHeaderSenderAllowed(deps, session, principal, message('From: a@x.test\r\nFrom: b@y.test'))).toThrow(/2 From: headers/);
    expect(() => assertHeaderSenderAllowed(deps, session, principal, message('From: "Evil <ceo@bank.test>" <a@x.test>'))).not.toThrow();
  });
});

describe('the header block and its fields', () => {
  it.each<[string, string]>([
    ['Subject: a\r\nTo: b\r\n\r\nbody', 'Subject: a\r\nTo: b'],
    ['Subject: a\nTo: b\n\nbody', 'Subject: a\nTo: b'],
    ['\r\nSubject: in the body\r\n\r\n', ''],
    ['Subject: no body at all', 'Subject: no body at all'],
  ])('block of %j', (raw, block) => {
    expect(headerBlockOf(Buffer.from(raw))).toBe(block);
  });

  it('unfolds by removing the line break only, skips lines that are not fields, and bounds what it reads', () => {
    const fields = headerFields(Buffer.from('Subject: hello\r\n  world\r\n\tagain\r\nnot a field\r\n : no name\r\nX-Ok: 1\r\n\r\n'));
    expect(fields).toEqual([
      { name: 'subject', value: 'hello  world\tagain' },
      { name: 'x-ok', value: '1' },
    ]);
    const huge = Buffer.from(`Subject: ${'x'.repeat(100_000)}\r\nFrom: ceo@bank.test\r\n\r\n`);
    expect(headerFields(huge)).toEqual([{ name: 'subject', value: 'x'.repeat(998) }]);
  });

  it('the stored Subject and the bounce notice read the same Subject', () => {
    const raw = Buffer.from('From: me@acme.test\r\nSubject: =?utf-8?q?Re=3A?=\r\n  the invoice\r\n\r\nSubject: not this\r\n');
    expect(headerSummary(raw)).toMatchObject({ subject: '=?utf-8?q?Re=3A?=  the invoice' });
    const notice = buildBounceMessage({
      reportingMta: 'mx.smtpdesk.test',
      queueId: 'q1',
      to: 'me@acme.test',
      originalMessage: raw,
      arrivalDate: new Date(0),
      now: new Date(0),
      recipients: [{ address: 'x@example.org', failure: { kind: 'permanent', message: '550 no', status: '5.1.1', code: 'SMTP_5XX' }, expired: false }],
    });
    expect(notice.subject).toBe('Undelivered Mail Returned to Sender: =?utf-8?q?Re=3A?= the invoice');
    expect(notice.raw.toString()).toContain('\r\nFrom: me@acme.test\r\nSubject: =?utf-8?q?Re=3A?=\r\n  the invoice\r\n\r\n--');
  });
});
