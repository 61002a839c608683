// DATA: read the whole stream (smtp-server's size is only advertised) into a bounded collector (a large body
// streams into the store as it arrives), refuse oversized and malformed messages, then accept durably
// (accept-message.ts, group commit) and answer 250 with the queue id.
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { isDomainError } from '../../domain/index.ts';
import { acceptMessage, StoreUnavailable, type AcceptMessageDeps } from '../accept-message.ts';
import { BodyCollector } from '../body-collector.ts';
import { newQueueId } from '../../store/queue/index.ts';
import { sessionFields, sessionPrincipal, type RelayDeps } from '../deps.ts';
import { headerSummary, MessageScanner } from '../message-scanner.ts';
import { reply, replyForError } from '../smtp-errors.ts';
import { assertHeaderSenderAllowed, type SenderGuardDeps } from '../sender-guard.ts';

/** What DATA uses: the body store, acceptance (group commit) and the header sender check. */
export type DataDeps = Pick<RelayDeps, 'log' | 'metrics' | 'settings' | 'state' | 'queue'> & AcceptMessageDeps & SenderGuardDeps;

type DataCallback = (err?: Error | null, message?: string) => void;

export const onData =
  (deps: DataDeps) =>
  (stream: SMTPServerDataStream, session: SMTPServerSession, callback: DataCallback): void => {
    const scanner = new MessageScanner();
    const id = newQueueId();
    const body = new BodyCollector(id, deps.queue, stream, deps.settings.inlineBodyBytes, deps.settings.storeTimeoutMs);
    let settled = false;
    const done: DataCallback = (err, message) => {
      if (settled) return;
      settled = true;
      callback(err, message);
    };

    stream.on('data', (chunk: Buffer) => {
      if (stream.sizeExceeded) {
        body.drop(); // keep reading to the end, keep nothing
        return;
      }
      scanner.push(chunk);
      if (scanner.problem) body.drop();
      else body.push(chunk);
    });
    stream.on('error', (err) => {
      deps.log.info({ err, code: 'RELAY_DATA_ABORTED', ...sessionFields(session) }, 'connection lost during DATA');
      body.discard();
      done(reply.storeUnavailable());
    });
    stream.on('end', () => {
      finish(deps, session, stream, scanner, id, body).then(
        (queueId) => done(null, `Queued as ${queueId}`),
        (err: Error) => {
          body.discard();
          done(err);
        },
      );
    });
  };

async function finish(deps: DataDeps, session: SMTPServerSession, stream: SMTPServerDataStream, scanner: MessageScanner, id: string, collector: BodyCollector): Promise<string> {
  const { log, metrics, settings } = deps;
  const fields = sessionFields(session);
  const refuse = (err: Error & { responseCode?: number }, reason: string, extra: Record<string, unknown> = {}) => {
    const code = String(err.responseCode ?? 450);
    metrics.smtpMessages.inc({ result: 'refused', code });
    log.info({ code: 'RELAY_MESSAGE_REFUSED', ...fields, reason, reply: code, ...extra }, `message refused: ${reason}`);
    return err;
  };

  if (stream.sizeExceeded) throw refuse(reply.tooBig(settings.maxMessageSize), 'too_big', { bytes: stream.byteLength });
  const problem = scanner.end();
  if (problem) throw refuse(problem === 'line_too_long' ? reply.lineTooLong() : reply.bareLineBreak(problem), problem);
  const principal = sessionPrincipal(session);
  if (!principal) throw refuse(reply.authRequired(), 'not_authenticated');
  const mailFrom = session.envelope.mailFrom;
  const to = session.envelope.rcptTo.map((r) => r.address);

  deps.state.messagesInFlight += 1;
  try {
    let body;
    try {
      body = await collector.end();
    } catch (err) {
      throw new StoreUnavailable('store', err);
    }
    assertHeaderSenderAllowed(deps, session, principal, body.start);
    const queueId = await acceptMessage(deps, {
      id,
      principal,
      from: mailFrom ? mailFrom.address : '',
      to,
      body,
      ...headerSummary(body.start),
      clientIp: session.remoteAddress,
      heloName: session.hostNameAppearsAs,
      secure: session.secure,
    });
    metrics.smtpMessages.inc({ result: 'accepted', code: '250' });
    log.info({ code: 'RELAY_MESSAGE_ACCEPTED', ...fields, queueId, recipients: to.length, size: body.size }, 'message accepted');
    return queueId;
  } catch (err) {
    if (err instanceof StoreUnavailable) {
      metrics.smtpMessages.inc({ result: 'refused', code: '451' });
      log.error({ err: err.cause, code: 'RELAY_STORE_UNAVAILABLE', ...fields, stage: err.stage }, 'store unavailable: 451, message not accepted');
      throw reply.storeUnavailable();
    }
    const answer = replyForError(err);
    if (isDomainError(err, 'QUOTA.EXCEEDED')) {
      log.warn({ code: 'RELAY_QUOTA_EXCEEDED', ...fields, ...err.details }, err.message);
      metrics.smtpMessages.inc({ result: 'refused', code: String(answer.responseCode) });
      throw answer;
    }
    throw refuse(answer, isDomainError(err) ? err.code : 'unexpected', { err });
  } finally {
    deps.state.messagesInFlight -= 1;
  }
}
