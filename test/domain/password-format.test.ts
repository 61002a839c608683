// The password format scanners recognise: prefix, account id, ~190 random bits, base62 CRC32. Pure table tests
// with hostile input: a checker must reject look-alikes offline and never throw.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatePassword, generateUsername } from '../../src/domain/credentials.ts';
import { base62Checksum, checkPasswordToken, formatPassword, PASSWORD_LENGTH, PASSWORD_PATTERN_SOURCE } from '../../src/domain/password-format.ts';

const docRegex = readFileSync(new URL('../../docs/secret-scanning/password.regex', import.meta.url), 'utf8').trim();

describe('password format', () => {
  it('new passwords: prefix, the username id, 54 characters, a checksum that holds', () => {
    const username = generateUsername();
    const pw = generatePassword(username);
    expect(pw).toHaveLength(PASSWORD_LENGTH);
    expect(pw.startsWith(`smtpd_${username.slice(5)}`)).toBe(true);
    expect(checkPasswordToken(pw)).toEqual({ ok: true, username });
    expect(new RegExp(docRegex).test(`SMTP_PASS=${pw}\n`)).toBe(true);
  });

  it('about 190 random bits: 10,000 passwords of one account are all different', () => {
    const username = generateUsername();
    const seen = new Set(Array.from({ length: 10_000 }, () => formatPassword(username).slice(16, 48)));
    expect(seen.size).toBe(10_000);
    expect(32 * Math.log2(62)).toBeGreaterThan(190);
  });

  it('the regular expression of the docs, gitleaks.toml and trufflehog.yaml is the code’s', () => {
    expect(docRegex).toBe(PASSWORD_PATTERN_SOURCE);
    const gitleaks = readFileSync(new URL('../../docs/secret-scanning/gitleaks.toml', import.meta.url), 'utf8');
    const trufflehog = readFileSync(new URL('../../docs/secret-scanning/trufflehog.yaml', import.meta.url), 'utf8');
    expect(gitleaks).toContain(`'''\\b(${PASSWORD_PATTERN_SOURCE.slice(2, -2)})\\b'''`);
    expect(trufflehog).toContain(`'${PASSWORD_PATTERN_SOURCE}'`);
  });

  it('a checksum is 6 base62 digits, also for CRC32 0 and 2^32-1 bodies', () => {
    for (const body of ['', 'a', 'x'.repeat(42), '\u0000', 'é']) expect(base62Checksum(body)).toMatch(/^[0-9A-Za-z]{6}$/);
  });

  const good = formatPassword('smtp-k7q2m9x4rt');
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  it.each([
    ['empty', '', 'format'],
    ['old format (32 letters and digits)', 'Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4f', 'format'],
    ['one character short', good.slice(0, -1), 'format'],
    ['one character long', `${good}A`, 'format'],
    ['wrong prefix', `smtpx_${good.slice(6)}`, 'format'],
    ['upper-case prefix', `SMTPD_${good.slice(6)}`, 'format'],
    ['id with a letter usernames never have (l)', `smtpd_l${good.slice(7)}`, 'format'],
    ['id with upper case', `smtpd_K${good.slice(7)}`, 'format'],
    ['a random character changed', flip(good, 30), 'checksum'],
    ['the checksum changed', flip(good, 52), 'checksum'],
    ['an id character changed', `smtpd_m${good.slice(7)}`, 'checksum'],
    ['surrounding spaces', ` ${good.slice(1)}`, 'format'],
    ['newline inside', `${good.slice(0, 20)}\n${good.slice(21)}`, 'format'],
    ['unicode look-alike', good.replace('s', 'ѕ'), 'format'],
    ['NUL bytes', '\u0000'.repeat(54), 'format'],
    ['huge', 'smtpd_'.repeat(100_000), 'format'],
  ])('rejects %s', (_what, token, reason) => {
    expect(checkPasswordToken(token)).toEqual({ ok: false, reason });
  });

  it('never throws on values that are not strings', () => {
    for (const v of [null, undefined, 42, {}, []]) expect(checkPasswordToken(v as never)).toEqual({ ok: false, reason: 'format' });
  });

  it('the dummy hash and names that are not generated usernames keep the old format', () => {
    expect(generatePassword()).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(generatePassword('imported-user')).toMatch(/^[A-Za-z0-9]{32}$/);
  });
});
