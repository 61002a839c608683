// How the CLI answers each kind of failure: a one-line reason on stderr and a distinct exit code.
import { ConfigError } from '../config.ts';
import { DomainError } from '../domain/index.ts';
import { StartupError } from '../shared/startup-errors.ts';
import { isDatabaseUnavailable } from '../store/connection.ts';
import { UsageError } from './command.ts';

export const EXIT = { ok: 0, refused: 1, usage: 2, config: 78, unavailable: 69, internal: 70 } as const;

export function describeFailure(err: unknown): { exitCode: number; message: string; code: string } {
  if (err instanceof UsageError) return { exitCode: EXIT.usage, message: err.message, code: 'USAGE' };
  if (err instanceof DomainError) return { exitCode: EXIT.refused, message: err.message, code: err.code };
  if (err instanceof ConfigError) return { exitCode: EXIT.config, message: err.message, code: 'CONFIG.INVALID' };
  // The embedded database could not start (no Go to build FerretDB, its port taken): the service is unavailable.
  if (err instanceof StartupError) return { exitCode: EXIT.unavailable, message: `database unavailable: ${err.message}`, code: 'DATABASE.UNAVAILABLE' };
  if (isDatabaseUnavailable(err)) {
    return { exitCode: EXIT.unavailable, message: `database unavailable: ${(err as Error).message}`, code: 'DATABASE.UNAVAILABLE' };
  }
  return { exitCode: EXIT.internal, message: `internal error: ${(err as Error)?.message ?? String(err)}`, code: 'INTERNAL' };
}
