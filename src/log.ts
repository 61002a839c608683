// pino logger. Child loggers per component carry `component`; error paths log a stable `code`
// (documented in docs/log-codes.md) so operators can alert on them.
import { pino, type Logger } from 'pino';

export type { Logger };

/** Fields that must never reach a log line, wherever they appear in a logged object. */
const REDACT = ['password', '*.password', 'pass', '*.pass', 'secret', '*.secret', 'passwordHash', '*.passwordHash', 'authorization', '*.authorization', 'token', '*.token'];

export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
      base: { app: 'smtpdesk' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? pino.destination({ dest: 2, sync: false }),
  );
}
