// The bounces listener: the MX of RETURN_PATH_DOMAIN, facing the internet. It takes mail only for well-signed
// return paths (checked at RCPT TO without a database read; any other recipient gets 550), offers no AUTH and
// relays nothing, and bounds size, connections and messages per client. What arrives is read as a DSN or a
// feedback report and handed to the domain (receiveReport), which counts it exactly once.
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { receiveReport, type Clock, type DomainContext, type LaterOutcomeRepository, type ReceivedReport } from '../domain/index.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { decodeReturnPath } from '../shared/return-path.ts';
import { listenError } from '../shared/startup-errors.ts';
import { createClientLimits } from './client-limits.ts';
import { parseReport } from './report-parser.ts';

export interface BouncesSettings {
  host?: string;
  port: number;
  hostname: string;
  returnPathDomain: string;
  returnPathKey: Buffer;
  maxMessageSize: number;
  maxClients: number;
  maxConnectionsPerClient: number;
  maxMessagesPerClientPerMinute: number;
  socketTimeoutMs?: number;
}

export interface BouncesDeps {
  ctx: Pick<DomainContext, 'suppressions' | 'events' | 'accounts'>;
  later: LaterOutcomeRepository;
  log: Logger;
  metrics: Pick<Metrics, 'bounceReports'>;
  clock: Clock;
  /** Sees each report as it arrived, before it is read (tests replay one; diagnostics). */
  tap?: (report: { rcptTo: string[]; raw: Buffer }) => void;
}

export interface RunningBounces {
  host: string | undefined;
  port: number;
  close(): Promise<void>;
}

/** A reply smtp-server sends as is (a DATA rejection without a code would become a temporary 450). */
function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/** At most this many return paths per message: a report is about one message; more is someone probing. */
const MAX_RECIPIENTS = 10;

function readAll(stream: SMTPServerDataStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

export async function startBouncesServer(s: BouncesSettings, deps: BouncesDeps): Promise<RunningBounces> {
  const log = deps.log.child({ component: 'bounces' });
  const limits = createClientLimits({ maxConnectionsPerClient: s.maxConnectionsPerClient, maxMessagesPerMinute: s.maxMessagesPerClientPerMinute });
  const counted = new WeakSet<SMTPServerSession>();

  const server = new SMTPServer({
    name: s.hostname,
    banner: 'smtpdesk return path',
    size: s.maxMessageSize,
    maxClients: s.maxClients,
    socketTimeout: s.socketTimeoutMs ?? 60_000,
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    onConnect(session, callback) {
      if (!limits.connect(session.remoteAddress)) {
        log.warn({ code: 'BOUNCES_CLIENT_CONNECTIONS', clientIp: session.remoteAddress }, 'too many connections from one client');
        return callback(smtpError(421, '4.7.0 Too many connections from your address, try again later'));
      }
      counted.add(session);
      callback();
    },
    onClose(session) {
      if (counted.has(session)) limits.disconnect(session.remoteAddress);
    },
    onMailFrom(_address, session, callback) {
      if (!limits.message(session.remoteAddress)) {
        log.warn({ code: 'BOUNCES_CLIENT_RATE', clientIp: session.remoteAddress }, 'too many messages from one client this minute');
        return callback(smtpError(450, '4.7.1 Too many messages from your address, try again later'));
      }
      callback();
    },
    onRcptTo(address, session, callback) {
      if (session.envelope.rcptTo.length >= MAX_RECIPIENTS) return callback(smtpError(452, '4.5.3 Too many recipients'));
      if (!decodeReturnPath(s.returnPathKey, s.returnPathDomain, address.address)) {
        log.info({ code: 'BOUNCES_RECIPIENT_REFUSED', clientIp: session.remoteAddress, recipient: address.address.slice(0, 200) }, 'not a return path of ours');
        return callback(smtpError(550, '5.1.1 No such recipient here (this server takes only delivery reports to its return paths)'));
      }
      callback();
    },
    onData(stream, session, callback) {
      void (async () => {
        const raw = await readAll(stream);
        if (stream.sizeExceeded) throw smtpError(552, `5.3.4 Message too big for this server (at most ${s.maxMessageSize} bytes)`);
        deps.tap?.({ rcptTo: session.envelope.rcptTo.map((r) => r.address), raw });
        const report = await parseReport(raw);
        const at = deps.clock();
        let busy = false;
        for (const rcpt of session.envelope.rcptTo) {
          const input: ReceivedReport = {
            rcptTo: rcpt.address,
            ref: decodeReturnPath(s.returnPathKey, s.returnPathDomain, rcpt.address),
            report,
            at,
            clientIp: session.remoteAddress,
            size: raw.length,
          };
          const result = await receiveReport({ ctx: deps.ctx, later: deps.later }, input);
          deps.metrics.bounceReports.inc({ type: report.type, result: result.result });
          if (result.result === 'busy') busy = true;
          const r = result.result;
          const code =
            r === 'counted'
              ? 'BOUNCES_REPORT_COUNTED'
              : r === 'duplicate'
                ? 'BOUNCES_REPORT_DUPLICATE'
                : r === 'unmatched'
                  ? 'BOUNCES_REPORT_UNMATCHED'
                  : r === 'busy'
                    ? 'BOUNCES_REPORT_BUSY'
                    : 'BOUNCES_REPORT_IGNORED';
          log.info(
            {
              code,
              type: report.type,
              clientIp: session.remoteAddress,
              ...(input.ref ? { queueId: input.ref.queueId, recipient: input.ref.recipient } : {}),
              result,
            },
            `report ${result.result}`,
          );
        }
        if (busy) throw smtpError(451, '4.3.0 The message is being delivered right now, try again later');
      })().then(
        () => callback(null, 'Report received'),
        (err: unknown) => {
          const code = (err as { responseCode?: number }).responseCode;
          if (code) return callback(err as Error);
          deps.metrics.bounceReports.inc({ type: 'unknown', result: 'error' });
          log.error({ err, code: 'BOUNCES_REPORT_FAILED', clientIp: session.remoteAddress }, 'could not store a report; the sender will retry');
          callback(smtpError(451, '4.3.0 Temporary failure storing the report, try again later'));
        },
      );
    },
  });
  server.on('error', (err) => log.warn({ err, code: 'BOUNCES_SERVER_ERROR' }, 'bounces listener error'));

  await new Promise<void>((resolve, reject) => {
    const onError = (err: unknown) => reject(listenError(err, { role: 'bounces', host: s.host, port: s.port, portVariable: 'BOUNCES_PORT', hostVariable: 'BOUNCES_HOST' }));
    server.server.once('error', onError);
    server.listen(s.port, s.host, () => {
      server.server.removeListener('error', onError);
      resolve();
    });
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : s.port;
  return {
    host: s.host,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
