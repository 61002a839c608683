// Domain errors carry a stable code. Each adapter maps the code to its own answer
// (a modal field error, an SMTP reply, an HTTP status, a CLI exit) — see each adapter's error map.

export const ERROR_CODES = [
  'ACCOUNT.NAME_INVALID',
  'ACCOUNT.NAME_TAKEN',
  'ACCOUNT.NOT_FOUND',
  'ACCOUNT.ALREADY_DISABLED',
  'ACCOUNT.ALREADY_ACTIVE',
  'ACCOUNT.CONFIRMATION_MISMATCH',
  'ACCOUNT.HAS_QUEUED_MAIL',
  'ACCOUNT.REASON_INVALID',
  'ACCOUNT.SESSION_REVOKED',
  'ACCOUNT.PASSWORD_LEAKED',
  'PLAN.NOT_FOUND',
  'PLAN.NO_FREE_SLOT',
  'PLAN.TOO_SMALL',
  'QUOTA.EXCEEDED',
  'WORKSPACE.NOT_FOUND',
  'WORKSPACE.EXISTS',
  'WORKSPACE.NAME_INVALID',
  'PERMISSION.DENIED',
  'INPUT.INVALID',
  'JOB.BUSY',
  'QUEUE.NOT_FOUND',
  'SENDER.NOT_ALLOWED',
  'DOMAIN.NOT_FOUND',
  'DOMAIN.EXISTS',
  'DKIM.SECRET_KEY_MISSING',
  'DKIM.NOT_PUBLISHED',
  'SUPPRESSION.NOT_FOUND',
  'REQUEST.NOT_FOUND',
  'REQUEST.ALREADY_DECIDED',
  'REQUEST.EXPIRED',
  'REQUEST.NO_APPROVALS_CHANNEL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export function isDomainError(err: unknown, code?: ErrorCode): err is DomainError {
  return err instanceof DomainError && (code === undefined || err.code === code);
}
