// The DSN (RFC 3464) and ARF (RFC 5965) reader: real-shaped reports and hostile ones, without a server.
import { describe, expect, it } from 'vitest';
import { deliveryKind, messageIdOf, parseFieldGroups, parseReport, typedAddress } from '../../src/bounces/report-parser.ts';
import { buildArf, buildDsn } from '../helpers/reports.ts';

const rp = 'bnc-x@rp.test';

describe('DSN', () => {
  it('reads every recipient group, its status and diagnostic, and the original Message-ID', async () => {
    const raw = buildDsn({
      to: rp,
      recipients: [
        { address: 'gone@x.test', status: '5.1.1', diagnostic: '550 5.1.1 no such user' },
        { address: 'later@x.test', action: 'delayed', status: '4.2.2' },
        { address: 'ok@x.test', action: 'delivered', status: '2.0.0' },
      ],
      originalHeaders: 'Subject: hi\r\nMessage-ID:\r\n  <folded@sender.test>',
    });
    const r = await parseReport(Buffer.from(raw));
    expect(r).toMatchObject({
      type: 'dsn',
      reportingMta: 'dns; mx.remote.test',
      originalMessageId: '<folded@sender.test>',
      recipients: [
        { address: 'gone@x.test', action: 'failed', status: '5.1.1', kind: 'permanent', diagnostic: 'smtp; 550 5.1.1 no such user' },
        { address: 'later@x.test', kind: 'transient' },
        { address: 'ok@x.test', kind: 'delivered' },
      ],
    });
  });

  it.each([
    ['no recipient group', buildDsn({ to: rp, recipients: [] })],
    ['an x400 recipient only', buildDsn({ to: rp, recipients: [{ address: 'x' }] }).replace('rfc822; x', 'x400; c=us;a=b')],
    ['a plain text message', 'From: a@b\r\nSubject: out of office\r\n\r\nI am away.\r\n'],
    ['garbage bytes', '\u0000\u0001\u00ff'.repeat(1000)],
    ['an empty message', ''],
    ['a report with an unclosed boundary', buildDsn({ to: rp, recipients: [{ address: 'a@b.test' }] }).replace('--dsn-boundary-1--', '')],
  ])('calls %s unknown instead of guessing', async (_n, raw) => {
    const r = await parseReport(Buffer.from(raw));
    if (_n === 'a report with an unclosed boundary') expect(['dsn', 'unknown']).toContain(r.type);
    else expect(r.type).toBe('unknown');
  });

  it('bounds a report with a huge number of recipient groups', async () => {
    const recipients = Array.from({ length: 3000 }, (_, i) => ({ address: `u${i}@x.test` }));
    const r = await parseReport(Buffer.from(buildDsn({ to: rp, recipients })));
    expect(r.type).toBe('dsn');
    if (r.type === 'dsn') expect(r.recipients.length).toBeLessThan(1000);
  });
});

describe('ARF', () => {
  it('reads the feedback type, recipients, sender and the returned Message-ID', async () => {
    const r = await parseReport(
      Buffer.from(buildArf({ to: rp, originalRcptTo: ['victim@x.test'], originalMailFrom: 'bnc-1@rp.test', originalHeaders: 'Message-ID: <m1@s.test>' })),
    );
    expect(r).toEqual({
      type: 'feedback',
      feedbackType: 'abuse',
      originalRcptTo: ['victim@x.test'],
      originalMailFrom: 'bnc-1@rp.test',
      userAgent: 'ProviderFBL/1.0',
      originalMessageId: '<m1@s.test>',
    });
  });
  it('keeps not-spam apart (the caller must not count it)', async () => {
    const r = await parseReport(Buffer.from(buildArf({ to: rp, feedbackType: 'not-spam' })));
    expect(r).toMatchObject({ type: 'feedback', feedbackType: 'not-spam' });
  });
  it.each([
    ['no Feedback-Type', buildArf({ to: rp }).replace('Feedback-Type: abuse\r\n', '')],
    ['a Feedback-Type with spaces and markup', buildArf({ to: rp, feedbackType: 'abuse <script>' })],
  ])('calls a report with %s unknown', async (_n, raw) => {
    expect((await parseReport(Buffer.from(raw))).type).toBe('unknown');
  });
  it('drops Original-Rcpt-To values that are not addresses (redacted ones)', async () => {
    const r = await parseReport(Buffer.from(buildArf({ to: rp, originalRcptTo: ['redacted', '<>', 'x@y.test'] })));
    expect(r).toMatchObject({ originalRcptTo: ['x@y.test'] });
  });
});

describe('field helpers', () => {
  it.each([
    ['rfc822; a@b.test', 'a@b.test'],
    ['RFC822;<a@b.test>', 'a@b.test'],
    ['rfc822; ', null],
    ['x400; a@b', null],
    ['a@b.test', null],
    [undefined, null],
  ])('typedAddress(%p) = %p', (v, want) => expect(typedAddress(v)).toBe(want));
  it.each([
    ['failed', '4.4.7', 'permanent'],
    ['delayed', '5.0.0', 'transient'],
    ['relayed', '', 'delivered'],
    ['', '5.1.1', 'permanent'],
    ['', '4.1.1', 'transient'],
    ['weird', 'x', null],
  ])('deliveryKind(%p, %p) = %p', (a, s, want) => expect(deliveryKind(a, s)).toBe(want));
  it('finds no Message-ID in the body, only in the header block', () => {
    expect(messageIdOf('Subject: x\r\n\r\nMessage-ID: <body@evil>')).toBeUndefined();
    expect(messageIdOf('Message-ID: no brackets')).toBeUndefined();
  });
  it('caps field length and ignores lines that are not fields', () => {
    const groups = parseFieldGroups(`A: ${'x'.repeat(5000)}\n junk\nnot a field\nB: y`);
    expect(groups[0]!.get('a')![0]!.length).toBeLessThanOrEqual(1000);
    expect(groups[0]!.get('b')).toEqual(['y']);
  });
});
