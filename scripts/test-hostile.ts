// npm run test:hostile — the corpus in scripts/hostile/corpus.json against a live relay, HTTP role and
// Slack role (each its own process, logs captured), loopback only. Fails on any answer other than the
// one a case expects, on a crash, or on a password or secret found in the server logs. This file starts the
// servers, runs the cases and reports; the cases of each protocol are in scripts/hostile/smtp.ts, http.ts and
// slack.ts, what they share in scripts/hostile/harness.ts.
//
// Flags: --only ID[,ID] (run some cases), --group G, --keep (keep the logs folder and print its path)
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectDatabase } from '../src/store/connection.ts';
import { FakeSlackApi } from './lib/fake-slack-api.ts';
import { plain, type CaseResult, type HostileContext } from './hostile/harness.ts';
import { runHttpCase, type HttpCase } from './hostile/http.ts';
import { runSlackCase, type SlackCase } from './hostile/slack.ts';
import { cleanMessageAccepted, runSmtpCase, type SmtpCase } from './hostile/smtp.ts';
import { freePort, ROOT } from './lib/peers.ts';
import { bootstrap, openDatabase, roleProcess, type Credentials, type RoleProcess } from './lib/smtpdesk.ts';
import { table } from './lib/report.ts';

interface Corpus {
  smtp: SmtpCase[];
  http: HttpCase[];
  slack: SlackCase[];
}
interface Outcome {
  id: string;
  group: string;
  expected: string;
  got: string;
  pass: boolean;
  ms: number;
  about: string;
}

const { values: flags } = parseArgs({ options: { only: { type: 'string' }, group: { type: 'string' }, keep: { type: 'boolean' } }, strict: true });
const only = flags.only ? new Set(flags.only.split(',')) : null;
const selected = (c: { id: string; group: string }) => (!only || only.has(c.id)) && (!flags.group || c.group === flags.group);

const SOCKET_TIMEOUT_S = 5;
const MAX_CLIENTS = 30;
const WEBHOOK_SECRET = `whsec-${randomBytes(18).toString('hex')}`;
const SLACK_SECRET = `slacksec-${randomBytes(18).toString('hex')}`;
const secrets = new Set<string>([WEBHOOK_SECRET, SLACK_SECRET]);

async function main(): Promise<void> {
  const corpus = JSON.parse(readFileSync(join(ROOT, 'scripts', 'hostile', 'corpus.json'), 'utf8')) as Corpus;
  const work = mkdtempSync(join(tmpdir(), 'smtpdesk-hostile-'));
  const logDir = join(work, 'logs');
  process.stderr.write(`test:hostile — ${corpus.smtp.length + corpus.http.length + corpus.slack.length} cases; logs in ${logDir}\n`);

  const db = await openDatabase(`hostile${Date.now()}`, join(work, 'ferretdb'));
  const accountNames = ['hostile', 'victim', 'victim2', 'victim3', 'victim4', 'victim5'];
  const creds = new Map<string, Credentials>((await bootstrap(db.uri, 'hostile', accountNames)).map((c) => [c.name, c]));
  for (const c of creds.values()) secrets.add(c.password);
  const main = creds.get('hostile')!;
  const store = await connectDatabase(db.uri, { ensureIndexes: false });

  const slackApi = await new FakeSlackApi().start();
  const relayPort = await freePort();
  const httpPort = await freePort();
  const slackPort = await freePort();
  const env = {
    MONGODB_URI: db.uri,
    SMTPDESK_DATA_DIR: join(work, 'data'),
    LOG_LEVEL: 'debug',
    RELAY_HOST: '127.0.0.1',
    RELAY_PORT: String(relayPort),
    RELAY_ALLOW_INSECURE_AUTH_ON_LOOPBACK: 'true',
    RELAY_SOCKET_TIMEOUT_SECONDS: String(SOCKET_TIMEOUT_S),
    RELAY_MAX_CLIENTS: String(MAX_CLIENTS),
    RELAY_MAX_MESSAGE_SIZE: '1mb',
    RELAY_BRUTE_FORCE_SLOW_AFTER: '5',
    RELAY_BRUTE_FORCE_BLOCK_AFTER: '8',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(httpPort),
    HTTP_REQUEST_TIMEOUT_SECONDS: '5',
    ADMIN_WEBHOOK_SECRETS: `hostile:${WEBHOOK_SECRET}`,
    SLACK_BOT_TOKEN: `xoxb-hostile-${randomBytes(8).toString('hex')}`,
    SLACK_SIGNING_SECRET: SLACK_SECRET,
    SLACK_API_URL: slackApi.apiUrl,
    SLACK_PORT: String(slackPort),
  };
  secrets.add(env.SLACK_BOT_TOKEN);
  const procs: Record<string, RoleProcess> = {
    relay: roleProcess({ role: 'relay', env, logDir, port: relayPort }),
    http: roleProcess({ role: 'http', env, logDir, port: httpPort }),
    slack: roleProcess({ role: 'slack', env, logDir, port: slackPort }),
  };
  const slackAvailable = /\bslack:\s*async/.test(readFileSync(join(ROOT, 'src', 'roles.ts'), 'utf8'));
  for (const [name, p] of Object.entries(procs)) {
    if (name === 'slack' && !slackAvailable) continue;
    await p.start();
  }

  const ctx: HostileContext = {
    relayPort,
    httpPort,
    slackPort,
    maxClients: MAX_CLIENTS,
    webhookSecret: WEBHOOK_SECRET,
    slackSecret: SLACK_SECRET,
    slackApiUrl: slackApi.apiUrl,
    creds,
    main,
    secrets,
    tokens: [],
    metricsBodies: [],
    queuedCount: async (mid: string) => store.models.queuedMessages.countDocuments({ messageId: `<${mid}>` }),
  };
  const { tokens, metricsBodies } = ctx;
  tokens.push(plain(main.username, main.password));

  // --- run ---------------------------------------------------------------------------------------------------
  const outcomes: Outcome[] = [];
  async function record(c: { id: string; group: string; about: string }, run: () => Promise<CaseResult>) {
    const t0 = Date.now();
    let r: CaseResult;
    try {
      r = await run();
    } catch (err) {
      r = { pass: false, got: [`harness error: ${(err as Error).message}`], expected: [] };
    }
    // A case that took a server down fails, whatever it saw; the server is started again for the next case.
    for (const [name, p] of Object.entries(procs)) {
      if (name === 'slack' && !slackAvailable) continue;
      if (!p.running()) {
        r.pass = false;
        r.got.push(`${name} CRASHED`);
        await p.start().catch(() => undefined);
      }
    }
    outcomes.push({ id: c.id, group: c.group, about: c.about, expected: r.expected.join(' '), got: r.got.join(' '), pass: r.pass, ms: Date.now() - t0 });
    process.stderr.write(`${r.pass ? 'pass' : 'FAIL'}  ${c.id.padEnd(32)} ${r.got.join(' | ').slice(0, 100)}\n`);
  }

  for (const c of corpus.smtp.filter(selected)) await record(c, () => runSmtpCase(ctx, c));
  for (const c of corpus.http.filter(selected)) await record(c, () => runHttpCase(ctx, c));
  for (const c of corpus.slack.filter(selected)) {
    if (!slackAvailable) {
      outcomes.push({ id: c.id, group: c.group, about: c.about, expected: String(c.expect), got: 'slack role not in this build', pass: false, ms: 0 });
      continue;
    }
    await record(c, () => runSlackCase(ctx, c));
  }

  // Final control: the relay still takes a clean message.
  await record({ id: 'after-all-still-serving', group: 'control', about: 'after everything, a clean message is accepted' }, () => cleanMessageAccepted(ctx));

  for (const p of Object.values(procs)) await p.stop();
  await store.close();
  await slackApi.close();
  await db.dispose();

  // --- leaks: no password, secret or AUTH token in any log line (or in /metrics) ---------------------------
  const texts: [string, string][] = [];
  if (existsSync(logDir)) for (const f of readdirSync(logDir)) texts.push([f, readFileSync(join(logDir, f), 'latin1')]);
  metricsBodies.forEach((b, i) => texts.push([`metrics#${i + 1}`, b]));
  const leaks: string[] = [];
  for (const secret of [...secrets, ...tokens]) {
    for (const [f, t] of texts) if (secret.length >= 8 && t.includes(secret)) leaks.push(`${f} contains ${secret.slice(0, 4)}…`);
  }
  outcomes.push({
    id: 'no-secret-in-logs',
    group: 'logs',
    about: `${secrets.size + tokens.length} passwords, secrets and AUTH tokens searched in ${texts.length} logs`,
    expected: 'none found',
    got: leaks.length ? leaks.join('; ') : `none found (${fmtBytes(texts.reduce((n, [, t]) => n + t.length, 0))} of logs)`,
    pass: leaks.length === 0,
    ms: 0,
  });

  // --- summary ---------------------------------------------------------------------------------------------------
  const failed = outcomes.filter((o) => !o.pass);
  process.stdout.write(
    `\n${table(outcomes, [
      { header: 'case', value: (o) => o.id },
      { header: 'group', value: (o) => o.group },
      { header: 'expected', value: (o) => o.expected.slice(0, 28) },
      { header: 'got', value: (o) => o.got.replace(/\s+/g, ' ').slice(0, 44) },
      { header: '', value: (o) => (o.pass ? 'pass' : 'FAIL') },
    ])}\n`,
  );
  process.stdout.write(`\nhostile: ${outcomes.length - failed.length} passed, ${failed.length} failed\n`);
  if (flags.keep || failed.length) process.stdout.write(`server logs: ${logDir}\n`);
  else rmSync(work, { recursive: true, force: true });
  process.exitCode = failed.length ? 1 : 0;
}

function fmtBytes(n: number): string {
  return n > 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} KB`;
}

main().catch((err) => {
  process.stderr.write(`test:hostile failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
