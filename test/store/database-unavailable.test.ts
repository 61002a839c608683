// isDatabaseUnavailable: which failures mean "the database could not be reached" (HTTP 503, CLI exit 69,
// SMTP 451) rather than a bug or a refused call.
import { describe, expect, it } from 'vitest';
import mongoose from 'mongoose';
import { isDatabaseUnavailable, mayHaveReachedServer } from '../../src/store/connection.ts';

const { MongoBulkWriteError, MongoNetworkError, MongoNetworkTimeoutError, MongoOperationTimeoutError, MongoServerError, MongoServerSelectionError } = mongoose.mongo;

function nodeSocketError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

const noServer = () =>
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
  } as never);

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a network error', new MongoNetworkError('connection closed'), true],
    ['no server to select', noServer(), true],
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

// A relay whose insert failed answers 451 at once only when the insert cannot have landed; otherwise the
// answer waits for the ledger to decide the batch (relay/commit.ts).
describe('mayHaveReachedServer', () => {
  const bulk = (cause: Error) => Object.assign(new MongoBulkWriteError({ message: cause.message, code: 0 }, {} as never), { cause });
  it.each([
    ['no server to select', noServer(), false],
    ['a server-selection timeout under timeoutMS', new MongoOperationTimeoutError('Timed out during server selection'), false],
    ['no connection checked out in time', new MongoOperationTimeoutError('Timed out during connection checkout'), false],
    ['timed out before the write', new MongoOperationTimeoutError('Timed out before socket write'), false],
    ['a refused connection', nodeSocketError('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'), false],
    ['a bulk write that never found a server', bulk(noServer()), false],
    ['a reply that never came (read timeout)', new MongoOperationTimeoutError('Timed out during socket read (600ms)'), true],
    ['a socket timeout', new MongoNetworkTimeoutError('connection 3 timed out'), true],
    ['the connection closed mid-command', new MongoNetworkError('connection 19 to 127.0.0.1:1 closed'), true],
    ['a bulk write whose connection closed', bulk(new MongoNetworkError('connection 19 closed')), true],
    ['a reset connection', nodeSocketError('read ECONNRESET', 'ECONNRESET'), true],
    ['an answer later than the budget (our own error)', new Error('stored after the 5000 ms budget'), true],
    [
      'a cycle of causes',
      (() => {
        const e: Error & { cause?: unknown } = new Error('a');
        e.cause = e;
        return e;
      })(),
      true,
    ],
    ['null', null, true],
    ['a string', 'ECONNREFUSED', true],
  ])('%s → %s', (_label, err, expected) => {
    expect(mayHaveReachedServer(err)).toBe(expected);
  });
});
