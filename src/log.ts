// pino logger. Child loggers per component carry `component`; error paths log a stable `code`
// (documented in docs/log-codes.md) so operators can alert on them.
import { pino, type Logger } from 'pino';

export type { Logger };

/** Fields that must never reach a log line, wherever they appear in a logged object. */
const REDACT = ['password', '*.password', 'pass', '*.pass', 'secret', '*.secret', 'passwordHash', '*.passwordHash', 'authorization', '*.authorization', 'token', '*.token'];

/**
 * JSON lines for machines (production, pipes, tests); readable colored lines for a person at a terminal in
 * development, or whenever LOG_FORMAT=pretty. LOG_FORMAT=json forces JSON.
 */
function wantsPretty(): boolean {
  const format = process.env.LOG_FORMAT;
  if (format === 'pretty') return true;
  if (format === 'json') return false;
  return process.env.NODE_ENV !== 'production' && process.env.NODE_ENV !== 'test' && Boolean(process.stderr.isTTY);
}

export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const destination =
    opts.destination ??
    (wantsPretty()
      ? pino.transport({ target: 'pino-pretty', options: { destination: 2, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,app' } })
      : pino.destination({ dest: 2, sync: false }));
  return pino(
    {
      level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
      base: { app: 'smtpdesk' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
