// The SMTP relay: a submission listener with STARTTLS and, when configured, an implicit-TLS listener,
// sharing one set of handlers. startRelay() is what the role, the tests and the benchmark start.
import { hostname as osHostname } from 'node:os';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { dummyPasswordHash } from '../domain/credentials.ts';
import type { Clock } from '../domain/index.ts';
import type { Logger } from '../log.ts';
import type { Runtime } from '../runtime.ts';
import type { Queue } from '../store/queue/index.ts';
import { createCommitQueue } from './commit.ts';
import { createSessionChecker } from './session-check.ts';
import { BruteForceGuard } from './brute-force.ts';
import { SharedLockouts } from './shared-lockouts.ts';
import { lockoutRepository } from '../store/repositories/lockouts.ts';
import { createCredentialCache, type CredentialCache } from './credential-cache.ts';
import type { RelayDeps, RelaySettings, RelayState } from './deps.ts';
import { withDeadline } from './deadline.ts';
import { onAuth } from './handlers/on-auth.ts';
import { onClose } from './handlers/on-close.ts';
import { onConnect } from './handlers/on-connect.ts';
import { onData } from './handlers/on-data.ts';
import { onMailFrom } from './handlers/on-mail-from.ts';
import { onRcptTo } from './handlers/on-rcpt-to.ts';
import { RepairQueue, type RepairQueueOptions } from './repairs.ts';
import { startLineDeadline } from './line-deadline.ts';
import { hookConnections } from './connection-hooks.ts';
import { BusySessions } from './busy-sessions.ts';
import { AcceptedHourCounter, RefusalCounter } from './hourly-counts.ts';
import { createSuppressionCache } from './suppression-cache.ts';
import { loadTlsCredentials, type TlsCredentials } from './tls.ts';
import { listenError } from '../shared/startup-errors.ts';

export interface RelayOverrides extends Partial<RelaySettings> {
  /** Certificate and key to use instead of the configured or generated ones. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Replaces the runtime's queue (tests make it fail). */
  queue?: Queue;
  log?: Logger;
  /** Brute-force delay per failure past the slow threshold (default 1 s). */
  bruteForceDelayStepMs?: number;
  repairs?: RepairQueueOptions;
  /** The time the relay's rules see (rotation deadlines, rate windows, hourly counts); tests move it. */
  clock?: Clock;
}

export { createCommitQueue } from './commit.ts';

export interface RunningRelay {
  /** Undefined: every address. */
  host: string | undefined;
  port: number;
  implicitTlsPort?: number;
  tlsSource: TlsCredentials['source'] | 'override';
  credentialCache?: CredentialCache;
  /** Undo/catch-up work not yet done (see repairs.ts); 0 when the store has caught up. */
  pendingRepairs(): number;
  /** Waits until pendingRepairs() is 0; false at the timeout. */
  repaired(timeoutMs: number): Promise<boolean>;
  /** Stops accepting, lets sessions in progress finish within the grace period, then closes. */
  close(): Promise<void>;
}

export async function startRelay(rt: Runtime, overrides: RelayOverrides = {}): Promise<RunningRelay> {
  const { tls: tlsOverride, queue, log: logOverride, bruteForceDelayStepMs, repairs: repairOptions, clock, ...settingsOverride } = overrides;
  const ctx = clock ? { ...rt.ctx, clock } : rt.ctx;
  const settings: RelaySettings = { ...rt.config.relay, ...settingsOverride };
  const log = (logOverride ?? rt.log).child({ component: 'relay' });

  const tls: { key: string | Buffer; cert: string | Buffer } & { source: RunningRelay['tlsSource'] } = tlsOverride
    ? { ...tlsOverride, source: 'override' }
    : await loadTlsCredentials({
        certFile: settings.tlsCertFile,
        keyFile: settings.tlsKeyFile,
        hostname: settings.hostname,
        dataDir: rt.config.database.dataDir,
        production: rt.config.env === 'production',
        log,
      });

  // The first dummy hash costs one bcrypt hash; make it now, not during someone's first failed AUTH.
  await dummyPasswordHash(rt.ctx.bcryptCost);

  const state: RelayState = { stopping: false, messagesInFlight: 0 };
  const bruteForceSettings = { ...settings.bruteForce, delayStepMs: bruteForceDelayStepMs };
  const repairs = new RepairQueue(log, repairOptions);
  const relayHost = osHostname();
  const queueStore = queue ?? rt.queue;
  const { commits } = createCommitQueue(rt, { queue: queueStore, repairs, log, storeTimeoutMs: settings.storeTimeoutMs });
  // One recovery loop per process (src/store/ledger), shared with a worker of the same process.
  const stopRecovery = rt.ledger.recovery.use(log);
  const sessionCheck = createSessionChecker(ctx, { ttlMs: settings.sessionCheckCacheMs, timeoutMs: settings.storeTimeoutMs });
  // A change made in this process is seen at the next MAIL FROM, not after the cache's time.
  const stopHearing = rt.events.subscribe({ publish: (e) => (e.account ? sessionCheck.invalidate(e.account.id) : undefined) });
  const deps: RelayDeps = {
    ctx,
    log,
    metrics: rt.metrics,
    settings,
    queue: queueStore,
    commits,
    sessionCheck,
    credentialCache: settings.authCache ? createCredentialCache({ ttlMs: settings.authCacheTtlMs }) : undefined,
    bruteForce: new SharedLockouts(new BruteForceGuard(bruteForceSettings), lockoutRepository(rt.db.models), bruteForceSettings, log, settings.storeTimeoutMs),
    repairs,
    refusals: new RefusalCounter({ ctx, log }),
    acceptedHours: new AcceptedHourCounter({ ctx, log }),
    // Bounded like the account reads: a store that hangs must not hold RCPT TO until the socket times out.
    suppressions: createSuppressionCache({
      repo: {
        version: (w) => withDeadline(rt.ctx.suppressions.version(w), settings.storeTimeoutMs, 'read suppression list version'),
        list: (w) => withDeadline(rt.ctx.suppressions.list(w), settings.storeTimeoutMs, 'read suppression list'),
      },
      ttlMs: settings.suppressionCacheMs,
      log,
    }),
    state,
    relayHost,
  };

  const busy = new BusySessions();
  const servers: SMTPServer[] = [];
  const lineDeadline = startLineDeadline(servers, settings.socketTimeoutMs, (c, socket) => {
    log.info({ code: 'RELAY_LINE_DEADLINE', session: c?.session.id, ip: c?.remoteAddress ?? socket.remoteAddress }, 'line not completed within the socket timeout: 421');
    if (c) c.send(421, 'Timeout - line not completed in time');
    else socket.destroy();
  });
  const options = (secure: boolean): SMTPServerOptions => ({
    secure,
    key: tls.key,
    cert: tls.cert,
    minVersion: 'TLSv1.2',
    name: settings.hostname,
    banner: 'smtpdesk',
    authMethods: ['PLAIN', 'LOGIN'],
    // smtp-server refuses AUTH before STARTTLS itself unless this is on; onAuth then allows loopback only.
    allowInsecureAuth: settings.allowInsecureAuthOnLoopback,
    size: settings.maxMessageSize,
    rejectOversized: true,
    maxRecipients: settings.maxRecipients,
    maxClients: settings.maxClients,
    socketTimeout: settings.socketTimeoutMs,
    closeTimeout: settings.shutdownGraceMs,
    hideENHANCEDSTATUSCODES: false,
    disableReverseLookup: true,
    logger: false,
    onConnect: onConnect(deps),
    onAuth: busy.track(onAuth(deps)),
    onMailFrom: busy.track(onMailFrom(deps)),
    onRcptTo: busy.track(onRcptTo(deps)),
    onData: busy.track(onData(deps)),
    onClose: onClose(deps),
    onSecure: lineDeadline.onSecure,
  });

  const listen = async (secure: boolean, port: number) => {
    const server = new SMTPServer(options(secure));
    if (!secure) lineDeadline.watchCleartext(server);
    hookConnections(server, {
      allowInsecureAuth: settings.allowInsecureAuthOnLoopback,
      onBadBase64: (session) => {
        const s = session as { id?: string; remoteAddress?: string };
        rt.metrics.smtpAuth.inc({ result: 'failure', reason: 'malformed' });
        log.info({ code: 'RELAY_AUTH_BAD_BASE64', session: s.id, ip: s.remoteAddress }, 'AUTH response is not valid base64: 501');
      },
    });
    server.on('error', (err: Error & { code?: string }) => log.debug({ code: 'RELAY_SOCKET_ERROR', err: { message: err.message, code: err.code } }, 'client connection error'));
    servers.push(server);
    const bound = await new Promise<number>((resolvePort, reject) => {
      const onError = (err: Error) =>
        reject(listenError(err, { role: 'relay', host: settings.host, port, portVariable: secure ? 'RELAY_IMPLICIT_TLS_PORT' : 'RELAY_PORT', hostVariable: 'RELAY_HOST' }));
      server.server.once('error', onError);
      server.listen(port, settings.host, () => {
        server.server.off('error', onError);
        const addr = server.server.address();
        resolvePort(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
    return bound;
  };

  let port: number;
  let implicitTlsPort: number | undefined;
  try {
    port = await listen(false, settings.port);
    if (settings.implicitTlsPort !== undefined) implicitTlsPort = await listen(true, settings.implicitTlsPort);
  } catch (err) {
    for (const s of servers) s.close();
    lineDeadline.stop();
    log.error({ code: 'RELAY_LISTEN_FAILED', reason: (err as Error).message }, 'relay could not start listening');
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    host: settings.host,
    port,
    implicitTlsPort,
    tlsSource: tls.source,
    credentialCache: deps.credentialCache,
    pendingRepairs: () => repairs.pending(),
    repaired: (ms) => repairs.idle(ms),
    close() {
      lineDeadline.stop();
      closing ??= shutdown(deps, servers, repairs, busy).finally(async () => {
        stopHearing();
        await stopRecovery();
      });
      return closing;
    },
  };
}

async function shutdown(deps: RelayDeps, servers: SMTPServer[], repairs: RepairQueue, busy: BusySessions): Promise<void> {
  const { log, state, settings } = deps;
  state.stopping = true;
  const open = servers.reduce((n, s) => n + s.connections.size, 0);
  log.info({ code: 'RELAY_SHUTDOWN', openConnections: open, graceMs: settings.shutdownGraceMs }, 'relay stopping: no new connections');
  const closed = Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));

  // Idle connections are told 421 now; one in the middle of a message may finish it (its next MAIL FROM
  // gets 421). smtp-server sends 421 to whatever is left when the grace period ends.
  const closeIdle = () => {
    for (const server of servers) {
      for (const c of server.connections) {
        if (!busy.has(c.session.id) && !c.session.envelope.mailFrom) c.send(421, `${settings.hostname} is shutting down, try again later`);
      }
    }
  };
  closeIdle();
  const sweeper = setInterval(closeIdle, 100);
  try {
    await closed;
    const until = Date.now() + settings.shutdownGraceMs;
    while (state.messagesInFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    // Clients still waiting for a batch the store has not decided hear 451 (their sessions close now).
    deps.commits.answerHeld();
  } finally {
    clearInterval(sweeper);
  }
  if (state.messagesInFlight > 0) log.error({ code: 'RELAY_SHUTDOWN_INCOMPLETE', messagesInFlight: state.messagesInFlight }, 'messages still being stored at shutdown');
  await repairs.close(Math.min(settings.shutdownGraceMs, 5_000));
  await Promise.all([deps.refusals.flush(), deps.acceptedHours.flush()]);
  log.info({ code: 'RELAY_STOPPED' }, 'relay stopped');
}
