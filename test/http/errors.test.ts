import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/domain/errors.ts';
import { DomainError } from '../../src/domain/index.ts';
import { HTTP_STATUS, toErrorAnswer } from '../../src/http/errors.ts';

describe('error code -> HTTP status', () => {
  it('maps every domain error code explicitly (a new code needs a line in src/http/errors.ts)', () => {
    const unmapped = ERROR_CODES.filter((code) => HTTP_STATUS[code] === undefined);
    expect(unmapped).toEqual([]);
  });

  it.each([
    ['ACCOUNT.NOT_FOUND', 404],
    ['WORKSPACE.NOT_FOUND', 404],
    ['PERMISSION.DENIED', 403],
    ['ACCOUNT.ALREADY_DISABLED', 409],
    ['ACCOUNT.ALREADY_ACTIVE', 409],
    ['ACCOUNT.NAME_INVALID', 422],
    ['INPUT.INVALID', 422],
  ] as const)('%s -> %i, with the code and message in the JSON body', (code, status) => {
    const answer = toErrorAnswer(new DomainError(code, 'why', { name: 'x' }));
    expect(answer).toMatchObject({ status, code, body: { error: { code, message: 'why', name: 'x' } } });
  });

  it('answers 500 INTERNAL without the message of an unexpected error, and 503 when the database is unreachable', () => {
    expect(toErrorAnswer(new Error('secret internals'))).toMatchObject({ status: 500, body: { error: { code: 'INTERNAL', message: 'Internal error.' } } });
    const down = Object.assign(new Error('connect ECONNREFUSED'), { name: 'MongoServerSelectionError' });
    expect(toErrorAnswer(down)).toMatchObject({ status: 503, code: 'DATABASE.UNAVAILABLE' });
  });
});
