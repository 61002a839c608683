// What the worker needs from a way of sending: one SMTP transaction per call, with each recipient's own
// answer. Implemented by the upstream smarthost (transport-upstream.ts) and direct MX delivery (transport-mx.ts).
import { Socket } from 'node:net';
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
 * nodemailer's `getSocket`: a TCP socket with Nagle's algorithm off. nodemailer writes the end of DATA as a
 * small separate packet; with Nagle on it waited for the peer's delayed ACK, about 40 ms per message.
 *
 * The socket is handed over unconnected (`socket`, not `connection`): nodemailer connects it itself, under its
 * own connection timeout, and a refused or failed connect takes nodemailer's normal error path. A socket
 * connected here whose connect failed had to be reported through getSocket's callback, and nodemailer's pool
 * then keeps the failed resource as busy for ever: after `maxConnections` refused connects the pool froze and
 * the worker with it. nodemailer does STARTTLS on this socket; implicit TLS (`secure`) takes no getSocket.
 */
export function noDelaySocket() {
  return (_options: unknown, callback: (err: Error | null, socketOptions?: { socket: Socket }) => void): void => {
    const socket = new Socket();
    // Kept by Node until the socket connects.
    socket.setNoDelay(true);
    callback(null, { socket });
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
