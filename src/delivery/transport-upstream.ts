// Delivery through one smarthost (RELAY_UPSTREAM_URL): nodemailer's pooled SMTP, the smarthost's own AUTH
// from the URL, TLS verified unless RELAY_UPSTREAM_TLS_VERIFY=false. The stored message goes out as-is
// (`raw`) with our envelope, so nodemailer adds or rewrites no header.
import { isIP } from 'node:net';
import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { Logger } from '../log.ts';
import { DEFAULT_TIMEOUTS, noDelaySocket, resultsOf, sendEnvelope, type Transport, type TransportTimeouts } from './transport.ts';
import { describeUpstream, parseUpstreamUrl } from '../shared/upstream-url.ts';

export { describeUpstream, parseUpstreamUrl };

export interface UpstreamOptions {
  url: string;
  tlsVerify: boolean;
  heloName: string;
  maxConnections: number;
  timeouts?: Partial<TransportTimeouts>;
  log?: Logger;
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\./.test(host);

export function createUpstreamTransport(opts: UpstreamOptions): Transport {
  const target = parseUpstreamUrl(opts.url);
  const timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  const options: SMTPPool.Options = {
    pool: true,
    host: target.host,
    port: target.port,
    secure: target.secure,
    name: opts.heloName,
    maxConnections: opts.maxConnections,
    maxMessages: 100,
    // Credentials only ever travel encrypted, except to a smarthost on this machine.
    requireTLS: Boolean(target.auth) && !target.secure && !isLoopback(target.host),
    tls: { rejectUnauthorized: opts.tlsVerify, ...(isIP(target.host) ? {} : { servername: target.host }) },
    connectionTimeout: timeouts.connectionMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.socketMs,
    logger: false,
  };
  if (!target.secure) options.getSocket = noDelaySocket(timeouts.connectionMs);
  if (target.auth) options.auth = target.auth;
  const pool = nodemailer.createTransport(options);
  pool.on('error', (err) => opts.log?.warn({ err, code: 'UPSTREAM_CONNECTION_ERROR' }, 'upstream connection error'));
  return {
    description: `upstream ${describeUpstream(opts.url)}`,
    async send(envelope, raw) {
      try {
        const info = await pool.sendMail({ envelope: sendEnvelope(envelope, raw), raw });
        return resultsOf(envelope.to, { info });
      } catch (error) {
        return resultsOf(envelope.to, { error });
      }
    },
    async close() {
      pool.close();
    },
  };
}
