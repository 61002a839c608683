// The one table from error codes (the domain's and the HTTP layer's own) to HTTP statuses, and the JSON
// shape of every error answer: {"error": {"code": "...", "message": "...", ...details}}.
import { DomainError } from '../domain/index.ts';
import { isDatabaseUnavailable } from '../store/connection.ts';

/** Codes the HTTP layer itself answers with. */
export type HttpErrorCode =
  | 'HTTP.NOT_FOUND'
  | 'HTTP.METHOD_NOT_ALLOWED'
  | 'HTTP.BODY_TOO_LARGE'
  | 'HTTP.TIMEOUT'
  | 'HTTP.HEADERS_TOO_LARGE'
  | 'HTTP.BAD_REQUEST'
  | 'HTTP.UNSUPPORTED_MEDIA_TYPE'
  | 'HTTP.UNAUTHORIZED'
  | 'WEBHOOK.NOT_CONFIGURED'
  | 'WEBHOOK.SIGNATURE_MISSING'
  | 'WEBHOOK.SIGNATURE_INVALID'
  | 'WEBHOOK.TIMESTAMP_INVALID'
  | 'WEBHOOK.TIMESTAMP_STALE'
  | 'WEBHOOK.DELIVERY_ID_INVALID'
  | 'WEBHOOK.REPLAYED'
  | 'WEBHOOK.MALFORMED_JSON'
  | 'WEBHOOK.UNKNOWN_ACTION'
  | 'WEBHOOK.INVALID_REQUEST'
  | 'SECRET_SCANNING.SIGNATURE_MISSING'
  | 'SECRET_SCANNING.UNKNOWN_KEY'
  | 'SECRET_SCANNING.SIGNATURE_INVALID'
  | 'SECRET_SCANNING.KEYS_UNAVAILABLE'
  | 'SECRET_SCANNING.MALFORMED_JSON'
  | 'SECRET_SCANNING.INVALID_REPORT'
  | 'NOT_READY'
  | 'DATABASE.UNAVAILABLE'
  | 'INTERNAL';

/** Keyed by string, not ErrorCode, so a code added to the domain elsewhere does not break this file's build;
 *  test/http/errors.test.ts fails instead until the code has its line here. */
export const HTTP_STATUS: Readonly<Record<string, number>> = {
  // domain
  'ACCOUNT.NOT_FOUND': 404,
  'WORKSPACE.NOT_FOUND': 404,
  'PLAN.NOT_FOUND': 404,
  'QUEUE.NOT_FOUND': 404,
  'DOMAIN.NOT_FOUND': 404,
  'SUPPRESSION.NOT_FOUND': 404,
  // Account requests (src/domain/account-requests.ts): raised in Slack only today.
  'REQUEST.NOT_FOUND': 404,
  'REQUEST.ALREADY_DECIDED': 409,
  'REQUEST.EXPIRED': 409,
  'REQUEST.NO_APPROVALS_CHANNEL': 409,
  'DOMAIN.EXISTS': 409,
  'DKIM.SECRET_KEY_MISSING': 503,
  'DKIM.NOT_PUBLISHED': 409,
  'PERMISSION.DENIED': 403,
  'ACCOUNT.ALREADY_DISABLED': 409,
  'ACCOUNT.ALREADY_ACTIVE': 409,
  'ACCOUNT.NAME_TAKEN': 409,
  'ACCOUNT.HAS_QUEUED_MAIL': 409,
  'WORKSPACE.EXISTS': 409,
  'PLAN.NO_FREE_SLOT': 409,
  'PLAN.TOO_SMALL': 409,
  'QUOTA.EXCEEDED': 409,
  'ACCOUNT.NAME_INVALID': 422,
  'ACCOUNT.REASON_INVALID': 422,
  'ACCOUNT.SESSION_REVOKED': 409,
  'ACCOUNT.PASSWORD_LEAKED': 409,
  'SENDER.NOT_ALLOWED': 403,
  'ACCOUNT.CONFIRMATION_MISMATCH': 422,
  'WORKSPACE.NAME_INVALID': 422,
  'INPUT.INVALID': 422,
  'JOB.BUSY': 409,
  // HTTP layer
  'HTTP.NOT_FOUND': 404,
  'HTTP.METHOD_NOT_ALLOWED': 405,
  'HTTP.BODY_TOO_LARGE': 413,
  'HTTP.TIMEOUT': 408,
  'HTTP.HEADERS_TOO_LARGE': 431,
  'HTTP.BAD_REQUEST': 400,
  'HTTP.UNSUPPORTED_MEDIA_TYPE': 415,
  'HTTP.UNAUTHORIZED': 401,
  'WEBHOOK.NOT_CONFIGURED': 503,
  'WEBHOOK.SIGNATURE_MISSING': 401,
  'WEBHOOK.SIGNATURE_INVALID': 401,
  'WEBHOOK.TIMESTAMP_INVALID': 401,
  'WEBHOOK.TIMESTAMP_STALE': 401,
  'WEBHOOK.DELIVERY_ID_INVALID': 400,
  'WEBHOOK.REPLAYED': 409,
  'WEBHOOK.MALFORMED_JSON': 400,
  'WEBHOOK.UNKNOWN_ACTION': 422,
  'WEBHOOK.INVALID_REQUEST': 422,
  'SECRET_SCANNING.SIGNATURE_MISSING': 401,
  'SECRET_SCANNING.UNKNOWN_KEY': 401,
  'SECRET_SCANNING.SIGNATURE_INVALID': 401,
  'SECRET_SCANNING.KEYS_UNAVAILABLE': 503,
  'SECRET_SCANNING.MALFORMED_JSON': 400,
  'SECRET_SCANNING.INVALID_REPORT': 422,
  NOT_READY: 503,
  'DATABASE.UNAVAILABLE': 503,
  INTERNAL: 500,
};

/** A failure the HTTP layer answers itself; carries its code and optional details for the JSON body. */
export class HttpError extends Error {
  constructor(
    readonly code: HttpErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function statusFor(code: string): number {
  return HTTP_STATUS[code] ?? 400;
}

export interface ErrorAnswer {
  status: number;
  code: string;
  body: { error: { code: string; message: string } & Record<string, unknown> };
  headers: Record<string, string>;
}

/** Any thrown value -> status, stable code and JSON body. Unknown errors never leak their message. */
export function toErrorAnswer(err: unknown): ErrorAnswer {
  if (err instanceof HttpError || err instanceof DomainError) {
    return {
      status: statusFor(err.code),
      code: err.code,
      body: { error: { code: err.code, message: err.message, ...withoutKeys(err.details, ['code', 'message']) } },
      headers: err instanceof HttpError ? err.headers : {},
    };
  }
  if (isDatabaseUnavailable(err)) {
    return {
      status: 503,
      code: 'DATABASE.UNAVAILABLE',
      body: { error: { code: 'DATABASE.UNAVAILABLE', message: 'The database is unavailable; try again shortly.' } },
      headers: { 'retry-after': '5' },
    };
  }
  return { status: 500, code: 'INTERNAL', body: { error: { code: 'INTERNAL', message: 'Internal error.' } }, headers: {} };
}

function withoutKeys(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
}
