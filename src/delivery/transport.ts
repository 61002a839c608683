// What the worker needs from a way of sending: one SMTP transaction per call, with each recipient's own
// answer. Implemented by the upstream smarthost (transport-upstream.ts) and direct MX delivery (transport-mx.ts).
import { connect, type Socket } from 'node:net';
import { classifyError, type DeliveryFailure } from './classify.ts';
import { domainOf } from './hygiene.ts';

export interface OutboundEnvelope {
  /** '' = null sender (bounces). */
  from: string;
  to: string[];
}

export type RecipientResult = { address: string; delivered: true; response: string } | { address: string; delivered: false; failure: DeliveryFailure };

export interface Transport {
  /** For the start-up line, e.g. "upstream smtp://smtp.example.net:587". */
  readonly description: string;
  /** Sends `raw` (already CRLF-normalized) as-is; never throws: every failure is a recipient result. */
  send(envelope: OutboundEnvelope, raw: Buffer): Promise<RecipientResult[]>;
  close(): Promise<void>;
}

export interface TransportTimeouts {
  /** TCP connect. */
  connectionMs: number;
  /** Server greeting after connect. */
  greetingMs: number;
  /** Inactivity on an open connection (a slow DATA answer). */
  socketMs: number;
}

export const DEFAULT_TIMEOUTS: TransportTimeouts = { connectionMs: 30_000, greetingMs: 30_000, socketMs: 120_000 };

/**
 * nodemailer's `getSocket`: a TCP connection with Nagle's algorithm off. nodemailer writes the end of DATA as
 * a small separate packet; with Nagle on it waited for the peer's delayed ACK, about 40 ms per message.
 *
 * nodemailer (7.0, pool and single transport alike) uses only `connection` from what getSocket returns; a
 * `socket` is ignored and nodemailer opens its own, Nagle on. So the connection is handed over while it is
 * still connecting, and the callback never carries an error: nodemailer treats a `connection` as open, reads
 * the greeting under its greeting timeout, and a refused or failed connect reaches it as the socket's 'error'
 * (its normal connection-error path; an error through getSocket's callback kept the pool's resource busy for
 * ever). A connect slower than `connectionMs` is cut off here, since nodemailer's own connection timeout does
 * not apply to a connection it was given. nodemailer does STARTTLS on it; implicit TLS (`secure`) takes no
 * getSocket.
 */
export function noDelaySocket(connectionMs: number = DEFAULT_TIMEOUTS.connectionMs) {
  return (options: { host?: string; port?: number }, callback: (err: Error | null, socketOptions?: { connection: Socket }) => void): void => {
    const socket = connect({ host: options.host ?? 'localhost', port: options.port ?? 25, noDelay: true });
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error('Connection timeout'), { code: 'ETIMEDOUT' })), connectionMs);
    timer.unref();
    const stop = () => clearTimeout(timer);
    socket.once('connect', stop);
    socket.once('close', stop);
    callback(null, { connection: socket });
  };
}

interface SentInfo {
  accepted?: unknown[];
  rejectedErrors?: unknown[];
  response?: string;
}

/**
 * The envelope nodemailer sends with `raw`: 8-bit bytes in the message ask for BODY=8BITMIME (RFC 6152), which
 * nodemailer adds only when the server offers it; non-ASCII addresses get SMTPUTF8 from nodemailer itself.
 */
export function sendEnvelope(envelope: OutboundEnvelope, raw: Buffer): { from: string; to: string[]; use8BitMime?: boolean } {
  return { from: envelope.from, to: envelope.to, ...(has8BitBytes(raw) ? { use8BitMime: true } : {}) };
}

function has8BitBytes(raw: Buffer): boolean {
  for (let i = 0; i < raw.length; i++) if (raw[i]! >= 0x80) return true;
  return false;
}

const addressOf = (a: unknown) => String((a as { address?: string })?.address ?? a).trim();

/**
 * A recipient as nodemailer reports it back: it sends the domain lower-cased and in punycode
 * ("Jo@Exämple.TEST" goes out, and is accepted, as "Jo@xn--exmple-cua.test"). Matching on this form keeps
 * an accepted recipient from reading as unanswered, being retried, and delivered twice.
 */
export function envelopeKey(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : `${address.slice(0, at)}@${domainOf(address)}`;
}

/** nodemailer's sendMail outcome (info or error) -> one result per envelope recipient. */
export function resultsOf(to: readonly string[], outcome: { info: SentInfo } | { error: unknown }): RecipientResult[] {
  if ('error' in outcome) {
    const err = outcome.error as { code?: string; rejectedErrors?: { recipient?: string }[] };
    // Every recipient refused at RCPT: each has its own answer.
    if (err?.code === 'EENVELOPE' && Array.isArray(err.rejectedErrors) && err.rejectedErrors.length) {
      return byRecipient(to, new Set(), '', err.rejectedErrors, classifyError(err));
    }
    const failure = classifyError(err);
    return to.map((address) => ({ address, delivered: false, failure }));
  }
  const { info } = outcome;
  const accepted = new Set((info.accepted ?? []).map((a) => envelopeKey(addressOf(a))));
  return byRecipient(to, accepted, info.response ?? '250 OK', (info.rejectedErrors ?? []) as { recipient?: string }[], undefined);
}

function byRecipient(
  to: readonly string[],
  accepted: Set<string>,
  response: string,
  rejectedErrors: { recipient?: string }[],
  fallback: DeliveryFailure | undefined,
): RecipientResult[] {
  const errors = new Map(rejectedErrors.map((e) => [envelopeKey(String(e.recipient ?? '').trim()), e]));
  return to.map((address): RecipientResult => {
    if (accepted.has(envelopeKey(address))) return { address, delivered: true, response };
    const e = errors.get(envelopeKey(address));
    if (e) return { address, delivered: false, failure: classifyError(e) };
    return {
      address,
      delivered: false,
      failure: fallback ?? { kind: 'temporary', message: 'the server neither accepted nor refused this recipient', status: '4.0.0', code: 'NO_ANSWER' },
    };
  });
}
