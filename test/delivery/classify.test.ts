// SMTP replies and transport errors -> temporary (retry) or permanent (bounce), as RFC 5321 says.
import { describe, expect, it } from 'vitest';
import { classifyError, classifyReply, enhancedStatusOf, oneLine } from '../../src/delivery/classify.ts';

describe('classifyReply', () => {
  it.each([
    [451, '451 4.3.2 Try again later', 'RCPT TO', 'temporary', '4.3.2'],
    [421, '421 mx.example.test busy', undefined, 'temporary', '4.0.0'],
    [452, '452 4.5.3 Too many recipients', 'RCPT TO', 'temporary', '4.5.3'],
    [552, '552 5.5.3 Too many recipients', 'RCPT TO', 'temporary', '4.0.0'],
    [550, '550 5.1.1 <x@y>: Recipient address rejected: User unknown', 'RCPT TO', 'permanent', '5.1.1'],
    [554, '554 Transaction failed', 'DATA', 'permanent', '5.0.0'],
    [552, '552 5.3.4 Message too big', 'DATA', 'permanent', '5.3.4'],
  ] as const)('%i %s after %s is %s (%s)', (code, reply, stage, kind, status) => {
    expect(classifyReply(code, reply, stage)).toMatchObject({ kind, status, replyCode: code });
  });
});

describe('classifyError', () => {
  it.each([
    [{ code: 'ECONNECTION', message: 'connect ECONNREFUSED 127.0.0.1:25' }, 'temporary'],
    [{ code: 'ETIMEDOUT', message: 'Greeting never received' }, 'temporary'],
    // Our smarthost refusing our own login, or a server refusing us at the greeting, never bounces mail.
    [{ code: 'EAUTH', message: 'Invalid login: 535 Authentication failed', responseCode: 535, response: '535 Authentication failed', command: 'AUTH PLAIN' }, 'temporary'],
    [{ code: 'EPROTOCOL', message: 'Invalid greeting', responseCode: 554, response: '554 No SMTP service here', command: 'CONN' }, 'temporary'],
    [{ code: 'EENVELOPE', message: 'Mail command failed', responseCode: 553, response: '553 5.7.1 Sender address rejected', command: 'MAIL FROM' }, 'permanent'],
    [{ code: 'EAUTH', message: 'Missing credentials' }, 'temporary'],
    [{ code: 'EENVELOPE', message: 'Invalid recipient' }, 'permanent'],
    [{ code: 'EMESSAGE', message: 'Message size larger than allowed 1000' }, 'permanent'],
    [new Error('something odd'), 'temporary'],
  ])('%o is %s', (err, kind) => {
    expect(classifyError(err).kind).toBe(kind);
  });

  it('keeps the server text on one line, naming the stage', () => {
    const f = classifyError({ code: 'EENVELOPE', responseCode: 550, response: '550-5.1.1 first\r\n550 5.1.1 second', command: 'RCPT TO' });
    expect(f).toMatchObject({ kind: 'permanent', status: '5.1.1', message: '550-5.1.1 first 550 5.1.1 second (after RCPT TO)' });
  });
});

it('reads enhanced status codes and flattens text', () => {
  expect(enhancedStatusOf('250 2.0.0 Ok')).toBe('2.0.0');
  expect(enhancedStatusOf('550 No such user')).toBeUndefined();
  expect(oneLine('a\r\nb\tc\u0000d')).toBe('a b c d');
});
