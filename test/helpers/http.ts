// A full runtime on a fresh test database with the HTTP server on an ephemeral loopback port, and a
// client that signs admin webhook requests the way a responder's tooling would.
import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { loadConfig } from '../../src/config.ts';
import type { Runtime } from '../../src/runtime.ts';
import { openAppRuntime } from '../../src/app-runtime.ts';
import { startHttpServer, type HttpServerHandle, type HttpServerOptions } from '../../src/http/server.ts';
import { signatureHeader } from '../../src/shared/signing.ts';
import { createAccount, createWorkspace, type Actor, type IssuedCredentials, type Workspace } from '../../src/domain/index.ts';
import { dropTestDatabase, testDatabaseUri } from './database.ts';

export const INTEGRATIONS = { pagerduty: 'pd-secret-0123456789abcdef', soar: 'soar-secret-fedcba9876543210' } as const;
export const operator: Actor = { source: 'cli', id: 'tester', roles: ['admin'] };

export interface HttpHarness {
  rt: Runtime;
  server: HttpServerHandle;
  uri: string;
  close(): Promise<void>;
}

export async function openHttpHarness(env: Record<string, string> = {}, server: HttpServerOptions = {}): Promise<HttpHarness> {
  const uri = testDatabaseUri();
  const rt = await openAppRuntime(
    loadConfig({
      MONGODB_URI: uri,
      BCRYPT_COST: '4',
      LOG_LEVEL: 'silent',
      ADMIN_WEBHOOK_SECRETS: Object.entries(INTEGRATIONS)
        .map(([n, s]) => `${n}:${s}`)
        .join(','),
      ...env,
    }),
  );
  const handle = await startHttpServer(rt, { host: '127.0.0.1', port: 0, ...server });
  return {
    rt,
    server: handle,
    uri,
    async close() {
      await handle.close();
      await rt.close();
      await dropTestDatabase(uri);
    },
  };
}

let wsCounter = 0;
export async function seedWorkspace(rt: Runtime, accountNames: string[]): Promise<{ workspace: Workspace; accounts: Record<string, IssuedCredentials> }> {
  wsCounter += 1;
  const workspace = await createWorkspace(rt.ctx, operator, { name: `acme-${wsCounter}-${randomBytes(3).toString('hex')}`, defaultPlan: '10k' });
  const accounts: Record<string, IssuedCredentials> = {};
  for (const name of accountNames) accounts[name] = await createAccount(rt.ctx, operator, workspace.id, name);
  return { workspace, accounts };
}

export interface SignedCall {
  body: unknown;
  /** Raw body instead of JSON.stringify(body). */
  raw?: string | Buffer;
  secret?: string;
  integration?: string | null;
  timestamp?: number;
  deliveryId?: string;
  headers?: Record<string, string>;
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the JSON body of the server under test, read freely by the tests
  json: any;
}

/** POSTs a signed admin webhook with fetch, as a responder's tooling would. */
export async function postAdminWebhook(baseUrl: string, call: SignedCall): Promise<Answer> {
  const raw = call.raw ?? JSON.stringify(call.body);
  const timestamp = String(call.timestamp ?? Math.floor(Date.now() / 1000));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-smtpdesk-timestamp': timestamp,
    'x-smtpdesk-signature': signatureHeader(call.secret ?? INTEGRATIONS.pagerduty, timestamp, raw),
    'x-smtpdesk-delivery': call.deliveryId ?? `d-${randomBytes(8).toString('hex')}`,
    ...(call.integration === null ? {} : { 'x-smtpdesk-integration': call.integration ?? 'pagerduty' }),
    ...(call.headers ?? {}),
  };
  const res = await fetch(`${baseUrl}/webhooks/admin`, { method: 'POST', headers, body: raw, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, headers: Object.fromEntries(res.headers), json: await res.json() };
}

/** A raw node:http request, for bodies and methods fetch will not send. */
export function rawRequest(baseUrl: string, opts: { method: string; path: string; headers?: Record<string, string | number>; body?: Buffer; chunked?: boolean }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${baseUrl}${opts.path}`, { method: opts.method, headers: opts.headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text ? JSON.parse(text) : null });
        } catch {
          reject(new Error(`not JSON (${res.statusCode}): ${text.slice(0, 200)}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    // The server may close the connection before the whole oversized body is written: that is the point.
    req.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code?.match(/EPIPE|ECONNRESET/)) setTimeout(() => reject(err), 5_000).unref();
      else reject(err);
    });
    if (opts.body) {
      if (opts.chunked) {
        for (let i = 0; i < opts.body.length; i += 16 * 1024) req.write(opts.body.subarray(i, i + 16 * 1024));
      } else req.write(opts.body);
    }
    req.end();
  });
}
