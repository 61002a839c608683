// The HTTP server of the http role: admin webhooks, health and metrics, on node:http.
// Routing is a table; every answer is JSON (except /metrics, which is the Prometheus text format);
// request bodies are read up to HTTP_BODY_LIMIT and within HTTP_REQUEST_TIMEOUT_SECONDS.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Runtime } from '../runtime.ts';
import { readBody } from './body.ts';
import type { HttpAnswer, Method, Route } from './route.ts';
import { HttpError, toErrorAnswer } from './errors.ts';
import { adminWebhookRoutes } from './admin-webhook.ts';
import { healthRoutes, type ReadinessProbe } from './health.ts';
import { metricsRoutes } from './metrics-route.ts';
import { secretScanningRoutes } from './secret-scanning-webhook.ts';
import { listenError } from '../shared/startup-errors.ts';

export interface HttpServerOptions {
  host?: string;
  /** 0 = an ephemeral port (tests). */
  port?: number;
  bodyLimit?: number;
  requestTimeoutMs?: number;
  /** Time allowed for the request line and headers (default: the smaller of 10 s and the request timeout). */
  headersTimeoutMs?: number;
  /** Roles' readiness for /readyz (main.ts passes the running roles). */
  readiness?: ReadinessProbe;
  clock?: () => Date;
}

export interface HttpServerHandle {
  host: string;
  port: number;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  close(): Promise<void>;
}

const CLOSE_GRACE_MS = 5_000;

export async function startHttpServer(rt: Runtime, overrides: HttpServerOptions = {}): Promise<HttpServerHandle> {
  const log = rt.log.child({ component: 'http' });
  const opts = {
    host: overrides.host ?? rt.config.http.host,
    port: overrides.port ?? rt.config.http.port,
    bodyLimit: overrides.bodyLimit ?? rt.config.http.bodyLimit,
    requestTimeoutMs: overrides.requestTimeoutMs ?? rt.config.http.requestTimeoutMs,
    clock: overrides.clock ?? (() => new Date()),
  };
  const headersTimeoutMs = Math.min(overrides.headersTimeoutMs ?? 10_000, opts.requestTimeoutMs);

  const routes: Route[] = [
    ...healthRoutes(rt, { readiness: overrides.readiness }),
    ...metricsRoutes(rt),
    ...adminWebhookRoutes(rt, { clock: opts.clock }),
    ...secretScanningRoutes(rt),
  ];
  const byPath = new Map<string, Map<Method, Route>>();
  for (const r of routes) {
    if (!byPath.has(r.path)) byPath.set(r.path, new Map());
    byPath.get(r.path)!.set(r.method, r);
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const started = Date.now();
    const deadline = started + opts.requestTimeoutMs;
    const url = new URL(req.url ?? '/', 'http://localhost');
    let answer: HttpAnswer;
    let code = 'ok';
    try {
      const methods = byPath.get(url.pathname);
      if (!methods) throw new HttpError('HTTP.NOT_FOUND', `No such path: ${url.pathname}.`);
      const method = req.method === 'HEAD' ? 'GET' : req.method;
      const route = methods.get(method as Method);
      if (!route) {
        const allow = [...methods.keys()].join(', ');
        throw new HttpError('HTTP.METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname}; use ${allow}.`, { allow: [...methods.keys()] }, { allow });
      }
      let body: Promise<Buffer> | undefined;
      answer = await route.handle({
        req,
        url,
        body: () => (body ??= readBody(req, { limit: opts.bodyLimit, deadline })),
        log,
      });
    } catch (err) {
      const e = toErrorAnswer(err);
      code = e.code;
      answer = { status: e.status, json: e.body, headers: e.headers };
      if (e.status >= 500) log.error({ err, code: 'HTTP_FAILED', error: e.code, method: req.method, path: url.pathname }, `${req.method} ${url.pathname} failed`);
      else log.info({ code: 'HTTP_REFUSED', error: e.code, status: e.status, method: req.method, path: url.pathname }, e.body.error.message);
    }
    // A body we did not read (an early refusal) is not drained for keep-alive: the connection closes instead.
    if (!req.complete) answer = { ...answer, headers: { ...(answer.headers ?? {}), connection: 'close' } };
    send(res, answer);
    log.debug({ code: 'HTTP_REQUEST', method: req.method, path: url.pathname, status: answer.status, result: code, ms: Date.now() - started }, 'request');
  };

  const server = createServer(
    {
      // Our own deadline answers 408 in JSON while a body is read; Node's is the backstop for the rest.
      requestTimeout: opts.requestTimeoutMs + 2_000,
      headersTimeout: headersTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, headersTimeoutMs),
      keepAliveTimeout: 5_000,
    },
    (req, res) => {
      handle(req, res).catch((err) => {
        log.error({ err, code: 'HTTP_FAILED' }, 'unhandled error while answering');
        if (!res.headersSent) send(res, { status: 500, json: { error: { code: 'INTERNAL', message: 'Internal error.' } } });
        else res.destroy();
      });
    },
  );

  // Malformed requests and header timeouts never reach the handler: answer them in JSON too.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, code, message] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'HTTP.TIMEOUT', 'The request did not arrive in time.']
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'HTTP.HEADERS_TOO_LARGE', 'The request headers are too large.']
          : [400, 'HTTP.BAD_REQUEST', 'The request is not valid HTTP.'];
    log.info({ code: 'HTTP_REFUSED', error: code, status, reason: err.code }, message);
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(listenError(err, { role: 'http', host: opts.host, port: opts.port, portVariable: 'HTTP_PORT', hostVariable: 'HTTP_HOST' }));
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  // Bound to every address: the URL names loopback, which reaches it ("http://[::]:8080" is not one to open).
  const unspecified = address.address === '::' || address.address === '0.0.0.0';
  const hostForUrl = unspecified ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    host: address.address,
    port: address.port,
    url: `http://${hostForUrl}:${address.port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      await closed;
      clearTimeout(force);
    },
  };
}

function send(res: ServerResponse, answer: HttpAnswer): void {
  const headers: Record<string, string | number> = { 'cache-control': 'no-store', ...(answer.headers ?? {}) };
  let payload: string;
  if (answer.text !== undefined) {
    payload = answer.text;
    headers['content-type'] = answer.contentType ?? 'text/plain; charset=utf-8';
  } else {
    payload = JSON.stringify(answer.json ?? {});
    headers['content-type'] = 'application/json; charset=utf-8';
  }
  headers['content-length'] = Buffer.byteLength(payload);
  res.writeHead(answer.status, headers);
  res.end(payload);
}
