// What goes out is well formed whatever came in: CRLF line endings, and envelope addresses that cannot carry
// a second SMTP command or a header.
import { describe, expect, it } from 'vitest';
import { normalizeLineEndings } from '../../src/delivery/hygiene.ts';
import { mailboxProblem } from '../../src/shared/mailbox.ts';

describe('normalizeLineEndings', () => {
  it.each([
    ['a\r\nb\r\n', 'a\r\nb\r\n'],
    ['a\nb\n', 'a\r\nb\r\n'],
    ['a\rb\r', 'a\r\nb\r\n'],
    ['\n.\n', '\r\n.\r\n'],
    ['a\r\r\nb', 'a\r\n\r\nb'],
    ['\r\n\n\r', '\r\n\r\n\r\n'],
    ['', ''],
    ['\n', '\r\n'],
    ['\r', '\r\n'],
    ['\r\r\r', '\r\n\r\n\r\n'],
    ['\n\n\n', '\r\n\r\n\r\n'],
    ['x\n\r\ny\r', 'x\r\n\r\ny\r\n'],
    ['\r\n\r\n.\r\n', '\r\n\r\n.\r\n'],
    ['\u00e9\n\u00e9', '\u00e9\r\n\u00e9'],
  ])('%j -> %j', (input, output) => {
    expect(normalizeLineEndings(Buffer.from(input)).toString()).toBe(output);
  });

  it('matches a byte-by-byte rewrite on random bytes full of CR and LF', () => {
    const slow = (b: Buffer) => {
      const out: number[] = [];
      b.forEach((c, i) => {
        if (c === 10 && b[i - 1] !== 13) out.push(13, 10);
        else if (c === 13 && b[i + 1] !== 10) out.push(13, 10);
        else out.push(c);
      });
      return Buffer.from(out);
    };
    for (let n = 0; n < 200; n++) {
      const b = Buffer.from(Array.from({ length: 1 + (n % 40) }, () => [10, 13, 46, 97][Math.floor(Math.random() * 4)]!));
      expect(normalizeLineEndings(b).equals(slow(b))).toBe(true);
    }
  });

  it('returns the same buffer when there is nothing to fix', () => {
    const b = Buffer.from('Subject: x\r\n\r\nbody\r\n');
    expect(normalizeLineEndings(b)).toBe(b);
  });
});

describe('mailboxProblem', () => {
  it.each(['user@example.com', 'first.last+tag@sub.example.co.uk', '"john doe"@example.com', 'élodie@exemple.fr', 'x@xn--bcher-kva.example'])('accepts %s', (a) => {
    expect(mailboxProblem(a)).toBeNull();
  });

  it.each([
    ['evil@example.com>\r\nRCPT TO:<victim@example.com', 'control characters in the address'],
    ['a@b.com\nBcc: x@y.z', 'control characters in the address'],
    ['a b@example.com', 'characters not allowed in the local part'],
    ['<a@example.com>', 'characters not allowed in the local part'],
    ['a@example.com>', 'not a valid domain name'],
    ['a@[127.0.0.1]', 'address literals are not delivered'],
    ['a@-bad-.example', 'not a valid domain name'],
    ['no-at-sign', 'not a mailbox (local@domain)'],
    ['', 'empty address'],
    [`${'x'.repeat(65)}@example.com`, 'local part longer than 64 characters'],
  ])('refuses %j: %s', (a, problem) => {
    expect(mailboxProblem(a)).toBe(problem);
  });
});
