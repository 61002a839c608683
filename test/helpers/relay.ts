// A real relay on 127.0.0.1 (ephemeral port) over a real Runtime on a fresh test database, with its log
// lines captured so tests can check what was (and was not) logged.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { loadConfig } from '../../src/config.ts';
import { createAccount, createWorkspace, type Workspace } from '../../src/domain/index.ts';
import { createLogger } from '../../src/log.ts';
import { startRelay, type RelayOverrides, type RunningRelay } from '../../src/relay/relay.ts';
import type { Runtime } from '../../src/runtime.ts';
import { openAppRuntime } from '../../src/app-runtime.ts';
import { dropTestDatabase, testDatabaseUri } from './database.ts';
import { captureLogs, type LogLine } from './logs.ts';
import { admin } from './domain.ts';

export type { LogLine } from './logs.ts';

export interface TestRelay {
  rt: Runtime;
  relay: RunningRelay;
  port: number;
  workspace: Workspace;
  /** Every log line so far, parsed. */
  logs: LogLine[];
  /** Every log line so far, as written. */
  rawLogs(): string;
  newAccount(name?: string): Promise<{ username: string; password: string; accountId: string; name: string }>;
  close(): Promise<void>;
}

let certPromise: Promise<{ key: string; cert: string }> | undefined;
export function testCertificate(): Promise<{ key: string; cert: string }> {
  certPromise ??= generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048, algorithm: 'sha256' }).then((p) => ({
    key: p.private,
    cert: p.cert,
  }));
  return certPromise;
}

let accountCounter = 0;

export async function startTestRelay(
  opts: {
    env?: Record<string, string>;
    relay?: RelayOverrides | ((rt: Runtime) => RelayOverrides);
    planId?: string;
    uri?: string;
    dropDatabase?: boolean;
  } = {},
): Promise<TestRelay> {
  const uri = opts.uri ?? testDatabaseUri();
  const captured = captureLogs();
  const logs = captured.lines;
  const sink = captured.stream;
  const config = loadConfig({
    NODE_ENV: 'test',
    MONGODB_URI: uri,
    BCRYPT_COST: '4',
    LOG_LEVEL: 'debug',
    SMTPDESK_DATA_DIR: mkdtempSync(join(tmpdir(), 'smtpdesk-relay-test-')),
    RELAY_HOST: '127.0.0.1',
    RELAY_PORT: '0',
    ...opts.env,
  });
  const log = createLogger({ level: config.logLevel, destination: sink });
  const rt = await openAppRuntime(config, { log });
  const workspace = await createWorkspace(rt.ctx, admin, { name: `relay-${Date.now().toString(36)}`, planId: opts.planId ?? '100k', defaultPlan: '10k' });
  const overrides = typeof opts.relay === 'function' ? opts.relay(rt) : opts.relay;
  const relay = await startRelay(rt, { tls: await testCertificate(), ...overrides });
  return {
    rt,
    relay,
    port: relay.port,
    workspace,
    logs,
    rawLogs: captured.raw,
    async newAccount(name) {
      accountCounter += 1;
      const issued = await createAccount(rt.ctx, admin, workspace.id, name ?? `app-${accountCounter}-${Math.random().toString(36).slice(2, 6)}`);
      return { username: issued.username, password: issued.password, accountId: issued.account.id, name: issued.account.name };
    },
    async close() {
      await relay.close();
      await rt.close();
      if (opts.dropDatabase !== false && !opts.uri) await dropTestDatabase(uri);
    },
  };
}

/** Polls `check` every 50 ms until it returns true; bounded by `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
