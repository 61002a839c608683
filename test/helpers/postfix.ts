// A private Postfix instance (the real MTA, Debian's package) for tests: its own config and queue in a
// temporary directory, listening on a loopback port, routing by a transport map. Started with its master
// daemon in the foreground (`master -d -c DIR`), so that stopping it is one signal to one child we own and
// the system's own Postfix (if any) is never touched. Needs root (Postfix drops to its `postfix` user).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { closedPort } from './smtp-sink.ts';

const MASTER = '/usr/lib/postfix/sbin/master';
export const postfixInstalled = existsSync(MASTER) && process.getuid?.() === 0;

export interface PostfixInstance {
  port: number;
  dir: string;
  /** Postfix's own log (maillog_file), for a failing test's message. */
  log(): string;
  stop(): Promise<void>;
}

const SERVICES = [
  'cleanup unix n - n - 0 cleanup',
  'qmgr unix n - n 300 1 qmgr',
  'rewrite unix - - n - - trivial-rewrite',
  'bounce unix - - n - 0 bounce',
  'defer unix - - n - 0 bounce',
  'trace unix - - n - 0 bounce',
  'verify unix - - n - 1 verify',
  'flush unix n - n 1000? 0 flush',
  'proxymap unix - - n - - proxymap',
  'smtp unix - - n - - smtp',
  'relay unix - - n - - smtp',
  'error unix - - n - - error',
  'retry unix - - n - - error',
  'discard unix - - n - - discard',
  'showq unix n - n - - showq',
  'anvil unix - - n - 1 anvil',
  'scache unix - - n - 1 scache',
  'postlog unix-dgram n - n - 1 postlogd',
];

/** `transport`: transport(5) lines, e.g. "remote.test error:5.1.1 User unknown". */
export async function startPostfix(opts: { transport: string[]; relayDomains: string[]; hostname?: string }): Promise<PostfixInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'smtpdesk-postfix-'));
  chmodSync(dir, 0o755); // Postfix's daemons run as its own user and must reach their queue
  const port = await closedPort();
  for (const d of ['queue', 'data']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'transport'), `${opts.transport.join('\n')}\n`);
  writeFileSync(
    join(dir, 'main.cf'),
    [
      'compatibility_level = 3.6',
      `queue_directory = ${dir}/queue`,
      `data_directory = ${dir}/data`,
      'daemon_directory = /usr/lib/postfix/sbin',
      'meta_directory = /etc/postfix',
      'shlib_directory = /usr/lib/postfix',
      'mail_owner = postfix',
      'setgid_group = postdrop',
      `myhostname = ${opts.hostname ?? 'mx.remote.test'}`,
      'mydestination =',
      'local_recipient_maps =',
      'inet_interfaces = loopback-only',
      'inet_protocols = ipv4',
      'mynetworks = 127.0.0.0/8',
      `relay_domains = ${opts.relayDomains.join(', ')}`,
      `transport_maps = texthash:${dir}/transport`,
      'smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination',
      // Accept at RCPT what the transport map will fail later (the point of the test: a 250, then a DSN).
      'smtpd_reject_unlisted_recipient = no',
      'smtp_host_lookup = native',
      'smtp_dns_support_level = disabled',
      'biff = no',
      'notify_classes =',
      `maillog_file = ${dir}/maillog`,
      `maillog_file_prefixes = ${dir}`,
      'queue_run_delay = 1s',
      'minimal_backoff_time = 1s',
      'maximal_backoff_time = 2s',
      'alias_maps =',
      'alias_database =',
      'smtputf8_enable = no',
    ].join('\n') + '\n',
  );
  writeFileSync(join(dir, 'master.cf'), [`127.0.0.1:${port} inet n - n - - smtpd`, ...SERVICES].join('\n') + '\n');
  // The queue's sub-directories, owned as Postfix wants them (`postfix set-permissions` refuses a config
  // directory the system's main.cf does not list in alternate_config_directories).
  for (const q of ['active', 'bounce', 'corrupt', 'defer', 'deferred', 'flush', 'hold', 'incoming', 'private', 'public', 'saved', 'trace', 'maildrop']) {
    mkdirSync(join(dir, 'queue', q), { mode: 0o700 });
  }
  mkdirSync(join(dir, 'queue', 'pid'), { mode: 0o755 });
  const own = spawnSync('chown', ['-R', 'postfix', join(dir, 'queue'), join(dir, 'data')], { encoding: 'utf8' });
  if (own.status !== 0) throw new Error(`could not prepare the Postfix queue: ${own.stderr}`);
  spawnSync('chown', ['root', join(dir, 'queue'), join(dir, 'queue', 'pid')]);
  const child: ChildProcess = spawn(MASTER, ['-d', '-c', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const until = Date.now() + 15_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGTERM');
      throw new Error(`Postfix did not start: ${stderr} ${existsSync(join(dir, 'maillog')) ? readFileSync(join(dir, 'maillog'), 'utf8') : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    dir,
    log: () => (existsSync(join(dir, 'maillog')) ? readFileSync(join(dir, 'maillog'), 'utf8') : ''),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
