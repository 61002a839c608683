// isDatabaseUnavailable: which failures mean "the database could not be reached" (HTTP 503, CLI exit 69,
// SMTP 451) rather than a bug or a refused call.
import { describe, expect, it } from 'vitest';
import mongoose from 'mongoose';
import { isDatabaseUnavailable } from '../../src/store/connection.ts';

const { MongoNetworkError, MongoServerError, MongoServerSelectionError } = mongoose.mongo;

function nodeSocketError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a network error', new MongoNetworkError('connection closed'), true],
    [
      'no server to select',
      new MongoServerSelectionError('Server selection timed out', {
        type: 'Unknown',
        servers: new Map(),
        stale: false,
        compatible: true,
        heartbeatFrequencyMS: 1,
        localThresholdMS: 1,
        setName: null,
        maxElectionId: null,
        maxSetVersion: null,
        commonWireVersion: 0,
        logicalSessionTimeoutMinutes: null,
      } as never),
      true,
    ],
    ['a write after the server closed the socket (driver leaves it unwrapped)', nodeSocketError('This socket has been ended by the other party', 'EPIPE'), true],
    ['a reset connection', nodeSocketError('read ECONNRESET', 'ECONNRESET'), true],
    ['a refused connection', nodeSocketError('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'), true],
    ['a server error (duplicate key)', new MongoServerError({ message: 'E11000 duplicate key', code: 11000 }), false],
    ['a plain bug', new TypeError('x is not a function'), false],
    ['an error named like a network error only in its message', new Error('MongoNetworkError'), false],
    ['an error with an unrelated code', nodeSocketError('no such file', 'ENOENT'), false],
    ['a subclass carrying a socket code', Object.assign(new RangeError('out of range'), { code: 'EPIPE' }), false],
    ['null', null, false],
    ['a string', 'MongoNetworkError', false],
    ['an object with a name only', { name: 'MongoNetworkError' }, true],
  ])('%s → %s', (_label, err, expected) => {
    expect(isDatabaseUnavailable(err)).toBe(expected);
  });
});
