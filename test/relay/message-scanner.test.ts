import { describe, expect, it } from 'vitest';
import { headerSummary, MessageScanner, type BodyProblem } from '../../src/relay/message-scanner.ts';

const cases: [string, string, BodyProblem | null][] = [
  ['CRLF lines', 'a\r\nb\r\n', null],
  ['empty body', '', null],
  ['bare LF', 'a\nb\r\n', 'bare_lf'],
  ['LF first', '\nb\r\n', 'bare_lf'],
  ['bare CR mid-line', 'a\rb\r\n', 'bare_cr'],
  ['CR CR LF', 'a\r\r\n', 'bare_cr'],
  ['bare CR at the end', 'a\r\nb\r', 'bare_cr'],
  ['998 characters', `${'x'.repeat(998)}\r\n`, null],
  ['999 characters', `${'x'.repeat(999)}\r\n`, 'line_too_long'],
  ['999 characters without an ending', 'x'.repeat(999), 'line_too_long'],
];

describe('MessageScanner', () => {
  it.each(cases)('%s -> %s, however the stream is cut into chunks', (_name, text, expected) => {
    const bytes = Buffer.from(text, 'latin1');
    // whole, then cut at every position into two chunks, then byte by byte
    const cuts: Buffer[][] = [[bytes]];
    for (let i = 1; i < bytes.length && i < 40; i++) cuts.push([bytes.subarray(0, i), bytes.subarray(i)]);
    cuts.push([...bytes].map((b) => Buffer.from([b])));
    for (const chunks of cuts) {
      const s = new MessageScanner();
      for (const c of chunks) s.push(c);
      expect(s.end()).toBe(expected);
    }
  });
});

describe('headerSummary', () => {
  it('reads Message-ID and a folded Subject from the header block only', () => {
    const body = Buffer.from('Message-ID: <1@x>\r\nSubject: hello\r\n world\r\n\r\nSubject: not this\r\n');
    expect(headerSummary(body)).toEqual({ messageId: '<1@x>', subject: 'hello world', hasDate: false });
  });

  it('sees a Date header in any case, and no header at all in a message that starts with an empty line', () => {
    expect(headerSummary(Buffer.from('DATE: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\nhi\r\n')).hasDate).toBe(true);
    expect(headerSummary(Buffer.from('\r\nDate: in the body\r\nMessage-ID: <body@x>\r\n\r\nhi\r\n'))).toEqual({ hasDate: false });
  });
});
