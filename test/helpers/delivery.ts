// A real Runtime on a fresh test database with one workspace and one account, a way to put messages in the
// queue as the relay's commit does (queue.enqueueMany), and the log lines captured for assertions.
import { loadConfig } from '../../src/config.ts';
import { createAccount, createWorkspace, recordAcceptedMessage, type Workspace } from '../../src/domain/index.ts';
import { createLogger } from '../../src/log.ts';
import type { Runtime } from '../../src/runtime.ts';
import { openAppRuntime } from '../../src/app-runtime.ts';
import type { QueuedMessage } from '../../src/domain/queue-model.ts';
import { enqueueMessage } from './queue.ts';
import { dropTestDatabase, testDatabaseUri } from './database.ts';
import { captureLogs, type LogLine } from './logs.ts';
import { admin } from './domain.ts';

export type { LogLine } from './logs.ts';

export interface DeliveryHarness {
  uri: string;
  rt: Runtime;
  workspace: Workspace;
  account: { id: string; name: string; workspaceId: string; username: string };
  logs: LogLine[];
  /** Enqueues like the relay does (and counts it as sent, like the relay). Returns the queue id. */
  enqueue(msg: { from?: string; to: string[]; body?: string | Buffer; at?: Date; subject?: string }): Promise<string>;
  message(id: string): Promise<QueuedMessage>;
  close(): Promise<void>;
}

let n = 0;

function headerValue(body: Buffer, name: string): string | undefined {
  const text = body.subarray(0, 16 * 1024).toString('utf8');
  const head = text.slice(0, Math.max(0, text.search(/\r?\n\r?\n/)) || text.length);
  return new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(head)?.[1]?.trim();
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

export function testMessage(opts: { messageId?: string; subject?: string; from?: string; to?: string; text?: string } = {}): string {
  n += 1;
  return [
    `From: App <${opts.from ?? 'app@sender.test'}>`,
    `To: <${opts.to ?? 'rcpt@example.test'}>`,
    `Subject: ${opts.subject ?? `test ${n}`}`,
    `Message-ID: ${opts.messageId ?? `<m${n}.${Date.now()}@sender.test>`}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    opts.text ?? 'Hello from the delivery tests.',
    '',
  ].join('\r\n');
}

export async function openDeliveryHarness(opts: { env?: Record<string, string>; uri?: string } = {}): Promise<DeliveryHarness> {
  const uri = opts.uri ?? testDatabaseUri();
  const captured = captureLogs();
  const logs = captured.lines;
  const sink = captured.stream;
  const config = loadConfig({
    NODE_ENV: 'test',
    MONGODB_URI: uri,
    BCRYPT_COST: '4',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    DELIVERY_HELO_NAME: 'smtpdesk.test',
    ...opts.env,
  });
  const log = createLogger({ level: config.logLevel, destination: sink });
  const rt = await openAppRuntime(config, { log });
  const workspace = await createWorkspace(rt.ctx, admin, { name: `dlv-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`, planId: '100k', defaultPlan: '10k' });
  const issued = await createAccount(rt.ctx, admin, workspace.id, 'production-transactional');
  const account = { id: issued.account.id, name: issued.account.name, workspaceId: workspace.id, username: issued.username };
  return {
    uri,
    rt,
    workspace,
    account,
    logs,
    async enqueue(msg) {
      const at = msg.at ?? new Date();
      const body = typeof msg.body === 'string' || msg.body === undefined ? Buffer.from(msg.body ?? testMessage()) : msg.body;
      const id = await enqueueMessage(rt.queue, {
        workspaceId: workspace.id,
        accountId: account.id,
        username: account.username,
        from: msg.from ?? 'app@sender.test',
        to: msg.to,
        body,
        // As the relay does: Subject and Message-ID from the header.
        ...optional('subject', msg.subject ?? headerValue(body, 'subject')),
        ...optional('messageId', headerValue(body, 'message-id')),
        at,
      });
      await recordAcceptedMessage(rt.ctx, account, msg.to.length, at);
      return id;
    },
    async message(id) {
      const doc = await rt.queue.findMessage(workspace.id, id);
      if (!doc) throw new Error(`no queued message ${id}`);
      return doc;
    },
    async close() {
      await rt.close();
      if (!opts.uri) await dropTestDatabase(uri);
    },
  };
}
