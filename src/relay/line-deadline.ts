// A slow-loris client holds a connection slot for ever by sending a byte of a command line just often
// enough to reset the idle timeout (found by `npm run test:hostile`, case slowloris-command). As Postfix
// does with smtpd_per_record_deadline, a command line must arrive whole within the socket timeout: a sweep
// over the open connections answers 421 (which closes the connection) when the partial line in the
// command parser is older than that. The message body (DATA) is not covered: its size limit bounds it.
//
// smtp-server has no per-line deadline and no hook that sees a partial line, so this reads its command parser's
// `_parser._remainder` and `_parser._dataMode`; package.json pins smtp-server to an exact version, and
// test/relay/smtp-server-contract.test.ts fails when an upgrade moves them.
import type { SMTPServer } from 'smtp-server';

type Connection = SMTPServer['connections'] extends Set<infer C> ? C : never;

export interface LineDeadline {
  stop(): void;
}

export function startLineDeadline(servers: SMTPServer[], deadlineMs: number, onExpired: (c: Connection) => void): LineDeadline {
  // Per connection: the parser and partial line last seen, and since when that line has been growing.
  const partial = new WeakMap<Connection, { parser: object; line: string; since: number }>();
  const sweep = () => {
    const now = Date.now();
    for (const server of servers) {
      for (const c of server.connections) {
        const parser = c._parser;
        if (!parser || parser._dataMode || parser._remainder === '') {
          partial.delete(c);
          continue;
        }
        const seen = partial.get(c);
        // A new parser (after STARTTLS) or a line that is not the old one grown longer: a new line starts.
        if (!seen || seen.parser !== parser || !parser._remainder.startsWith(seen.line)) {
          partial.set(c, { parser, line: parser._remainder, since: now });
          continue;
        }
        seen.line = parser._remainder;
        if (now - seen.since > deadlineMs) {
          partial.delete(c);
          onExpired(c);
        }
      }
    }
  };
  const timer = setInterval(sweep, Math.max(50, Math.min(1_000, Math.floor(deadlineMs / 4))));
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
