// The mail servers smtpdesk is compared with, each started as an isolated instance on a loopback port
// under a scratch folder: Postfix (its own config_directory and queue_directory), Haraka (its own
// config dir), Postfix's smtp-sink, and the bare smtp-server sink. Installed by install-peers.sh.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_SCRATCH = join(ROOT, '.cache', 'peers');

export interface RunningServer {
  name: string;
  port: number;
  /** Root pids of the server's process tree, for CPU and memory. */
  pids: () => number[];
  stop: () => Promise<void>;
  /** A sink's count of the messages it has received so far (what was delivered to it). */
  received?: () => number;
}

export function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** Installs the peers that are missing; returns the names that could not be installed. */
export function installPeers(scratch: string, peers: string[]): string[] {
  const script = join(ROOT, 'scripts', 'peers', 'install-peers.sh');
  const r = spawnSync('bash', [script, scratch, ...peers], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', timeout: 15 * 60_000 });
  if (r.status === 0) return [];
  const named = (r.stdout ?? '').trim().split(/\s+/).filter(Boolean);
  return named.length ? named : peers;
}

export async function waitForPort(port: number, timeoutMs = 20_000, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = createConnection({ host, port });
      s.once('connect', () => (s.destroy(), res(true)));
      s.once('error', () => res(false));
      s.setTimeout(1000, () => (s.destroy(), res(false)));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const liveChildren = new Set<ChildProcess>();
let exitHooked = false;
/**
 * Kills `child` if this process exits first (a harness that exits on an error then leaves nothing running;
 * Ctrl-C reaches the children itself). One exit hook for all of them.
 */
export function killOnExit(child: ChildProcess): void {
  if (!exitHooked) process.on('exit', () => liveChildren.forEach((c) => c.kill('SIGKILL')));
  exitHooked = true;
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => res(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) return res();
    child.once('exit', () => res());
  });
}

async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const done = await Promise.race([exited(child).then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) {
    child.kill('SIGKILL');
    await exited(child);
  }
}

// ---------------------------------------------------------------------------------------------------
// Postfix's smtp-sink: accepts and discards, one event-driven process.

export async function startSmtpSink(port: number): Promise<RunningServer> {
  // -u is required when run as root; the backlog (last argument) is generous for 50+ clients.
  // -c prints running counters ("sess=3 quit=3 mesg=5", CR-separated) as they change: mesg counts the messages
  // it received, which is what a relay delivered to it.
  const args = [...(process.getuid?.() === 0 ? ['-u', 'postfix'] : []), '-c', `127.0.0.1:${port}`, '1024'];
  const child = spawn('/usr/sbin/smtp-sink', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  let received = 0;
  let tail = '';
  child.stdout?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-200);
    const all = [...tail.matchAll(/mesg=(\d+)\r/g)];
    if (all.length) received = Number(all.at(-1)![1]);
  });
  try {
    await waitForPort(port, 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`smtp-sink did not start: ${(err as Error).message}\n${stderr}`);
  }
  return { name: 'smtp-sink', port, pids: () => (child.pid ? [child.pid] : []), stop: () => stopChild(child), received: () => received };
}

// ---------------------------------------------------------------------------------------------------
// Postfix: an isolated instance (own config_directory, queue_directory, data_directory, log file).

export interface PostfixOptions {
  dir: string;
  port: number;
  relayPort: number;
  user: string;
  pass: string;
}

export async function startPostfix(o: PostfixOptions): Promise<RunningServer & { sasl: boolean }> {
  const etc = join(o.dir, 'etc');
  const queue = join(o.dir, 'queue');
  const data = join(o.dir, 'data');
  // Debian's Postfix reads <config_directory>/sasl/smtpd.conf (cyrus_sasl_config_path is not consulted).
  const sasl = join(etc, 'sasl');
  // A previous run's queue (a crash, say) would be delivered again: start clean.
  await postfixStop(etc).catch(() => undefined);
  rmSync(o.dir, { recursive: true, force: true });
  for (const d of [etc, queue, data, sasl]) mkdirSync(d, { recursive: true });

  const realm = 'bench';
  const saslDb = join(sasl, 'sasldb2');
  const saslOk = setupSasl(sasl, saslDb, realm, o.user, o.pass);

  const main = [
    'compatibility_level = 3.6',
    `queue_directory = ${queue}`,
    `data_directory = ${data}`,
    'command_directory = /usr/sbin',
    'daemon_directory = /usr/lib/postfix/sbin',
    'shlib_directory = /usr/lib/postfix',
    'meta_directory = /etc/postfix',
    'mail_owner = postfix',
    'setgid_group = postdrop',
    'inet_interfaces = loopback-only',
    'inet_protocols = ipv4',
    'myhostname = bench-postfix.localhost',
    'mydestination =',
    'local_recipient_maps =',
    'alias_maps =',
    'alias_database =',
    `relayhost = [127.0.0.1]:${o.relayPort}`,
    // 127.0.0.1 is not a trusted network here: relaying needs AUTH, as on a submission port.
    'mynetworks = 127.0.0.2/32',
    saslOk ? 'smtpd_relay_restrictions = permit_sasl_authenticated, reject' : 'smtpd_relay_restrictions = permit',
    saslOk ? 'smtpd_recipient_restrictions = permit_sasl_authenticated, reject' : 'smtpd_recipient_restrictions = permit',
    `smtpd_sasl_auth_enable = ${saslOk ? 'yes' : 'no'}`,
    'smtpd_sasl_type = cyrus',
    'smtpd_sasl_path = smtpd',
    `cyrus_sasl_config_path = ${sasl}`,
    `smtpd_sasl_local_domain = ${realm}`,
    'smtpd_sasl_security_options = noanonymous',
    'smtpd_tls_security_level = none',
    'smtp_tls_security_level = none',
    // The load comes from one address: no per-client connection cap or rate limit.
    'smtpd_client_connection_count_limit = 0',
    'smtpd_client_connection_rate_limit = 0',
    'smtpd_client_message_rate_limit = 0',
    'default_process_limit = 200',
    'message_size_limit = 26214400',
    `maillog_file = ${join(o.dir, 'maillog')}`,
    `maillog_file_prefixes = ${o.dir}`,
    'biff = no',
    'smtputf8_enable = no',
    'smtp_host_lookup = native',
    'disable_dns_lookups = yes',
  ].join('\n');
  writeFileSync(join(etc, 'main.cf'), `${main}\n`);

  // Debian's master.cf, with no chroot (the config paths are outside any chroot) and smtpd on our port.
  const masterLines = readFileSync('/usr/share/postfix/master.cf.dist', 'utf8')
    .split('\n')
    .filter((l) => !/^(maildrop|uucp|ifmail|bsmtp|scalemail-backend|mailman)\s/.test(l) && !/^\s+flags=/.test(l))
    .map((l) => {
      if (/^smtp\s+inet\s/.test(l)) return `127.0.0.1:${o.port} inet n - n - - smtpd`;
      const f = l.split(/\s+/);
      if (f.length >= 8 && !l.startsWith('#') && !/^\s/.test(l)) {
        f[4] = 'n';
        return f.join(' ');
      }
      return l;
    });
  writeFileSync(join(etc, 'master.cf'), masterLines.join('\n'));

  const env = { ...process.env, MAIL_CONFIG: etc };
  const run = (args: string[]) => execFileSync('/usr/sbin/postfix', ['-c', etc, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  try {
    run(['set-permissions']);
  } catch {
    // set-permissions fixes what it can; `start` reports anything that still matters.
  }
  try {
    run(['start']);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    // Postfix reports fatal errors to syslog (or a terminal), not to a pipe: point at its log.
    throw new Error(`postfix start failed: ${e.stderr || e.message} (see ${join(o.dir, 'maillog')}; \`script -qc "postfix -c ${etc} check"\` shows the reason)`);
  }
  await waitForPort(o.port, 20_000);
  const masterPid = () => {
    try {
      return [Number(readFileSync(join(queue, 'pid', 'master.pid'), 'utf8').trim())].filter((n) => n > 0);
    } catch {
      return [];
    }
  };
  return { name: 'postfix', port: o.port, sasl: saslOk, pids: masterPid, stop: () => postfixStop(etc) };
}

function setupSasl(dir: string, db: string, realm: string, user: string, pass: string): boolean {
  const conf = `pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: ${db}\n`;
  writeFileSync(join(dir, 'smtpd.conf'), conf);
  const r = spawnSync('saslpasswd2', ['-p', '-c', '-f', db, '-u', realm, user], { input: pass, encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(db)) {
    log(`postfix: saslpasswd2 failed (${(r.stderr || r.error?.message || '').trim()}); Postfix runs without AUTH`);
    return false;
  }
  try {
    const uid = Number(execFileSync('id', ['-u', 'postfix'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postfix'], { encoding: 'utf8' }).trim());
    chownSync(db, uid, gid);
    chmodSync(db, 0o640);
  } catch {
    chmodSync(db, 0o644);
  }
  return true;
}

async function postfixStop(etc: string): Promise<void> {
  if (!existsSync(join(etc, 'main.cf'))) return;
  const pidFile = (() => {
    try {
      const q = execFileSync('/usr/sbin/postconf', ['-c', etc, '-h', 'queue_directory'], { encoding: 'utf8' }).trim();
      return join(q, 'pid', 'master.pid');
    } catch {
      return '';
    }
  })();
  const pid = pidFile && existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
  spawnSync('/usr/sbin/postfix', ['-c', etc, 'stop'], { stdio: 'ignore', env: { ...process.env, MAIL_CONFIG: etc } });
  const deadline = Date.now() + 15_000;
  while (pid > 0 && alive(pid) && Date.now() < deadline) await sleep(100);
  if (pid > 0 && alive(pid)) spawnSync('/usr/sbin/postfix', ['-c', etc, 'abort'], { stdio: 'ignore' });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------
// Haraka: its own config dir; auth/flat_file (users in a flat file) and queue/smtp_forward to the sink.

export interface HarakaOptions {
  scratch: string;
  dir: string;
  port: number;
  relayPort: number;
  user: string;
  pass: string;
  /** Haraka's cluster workers; 0 = one process (default). */
  nodes?: number;
}

export async function startHaraka(o: HarakaOptions): Promise<RunningServer> {
  const bin = join(o.scratch, 'haraka', 'node_modules', '.bin', 'haraka');
  if (!existsSync(bin)) throw new Error(`Haraka is not installed in ${join(o.scratch, 'haraka')}`);
  rmSync(o.dir, { recursive: true, force: true });
  // `haraka -i` lays out an instance with Haraka's default config files (connection.ini etc.).
  const init = spawnSync(process.execPath, [bin, '-i', o.dir], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`haraka -i failed: ${init.stderr || init.stdout}`);
  const cfg = join(o.dir, 'config');
  const files: Record<string, string> = {
    'smtp.ini': `listen=127.0.0.1:${o.port}\nnodes=${o.nodes ?? 0}\n[headers]\nmax_lines=1000\nmax_received=100\n`,
    // Order matters: auth first; relay needs an authenticated user (auth sets connection.relaying).
    plugins: 'auth/flat_file\nqueue/smtp_forward\n',
    'auth_flat_file.ini': `[core]\nmethods=PLAIN,LOGIN\n[users]\n${o.user}=${o.pass}\n`,
    // enable_outbound=true: authenticated (relaying) mail goes through smtp_forward to the sink too. With false it
    // goes to Haraka's own outbound queue on disk, for MX delivery to the recipient's domain: bench:compare's
    // delivered column showed the sink receiving nothing from Haraka until this was set.
    'smtp_forward.ini': `host=127.0.0.1\nport=${o.relayPort}\nenable_tls=false\nenable_outbound=true\nmax_connections=100\n`,
    me: 'bench-haraka.localhost\n',
    'log.ini': '[main]\nlevel=error\ntimestamps=false\nformat=default\n',
    loglevel: 'LOGERROR\n',
    databytes: '26214400\n',
    internalcmd_key: '\n',
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(cfg, name), text);
  const child = spawn(process.execPath, [bin, '-c', o.dir], { stdio: ['ignore', 'pipe', 'pipe'], cwd: o.dir });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.once('exit', (code, signal) => {
    if (!stopping) log(`haraka exited unexpectedly (${signal ?? code}):\n${out}`);
  });
  let stopping = false;
  try {
    await Promise.race([
      waitForPort(o.port, 30_000),
      exited(child).then(() => {
        throw new Error(`haraka exited (${child.exitCode})`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`haraka did not start: ${(err as Error).message}\n${out}`);
  }
  return {
    name: 'haraka',
    port: o.port,
    pids: () => (child.pid ? [child.pid] : []),
    stop: () => {
      stopping = true;
      return stopChild(child);
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// The bare smtp-server sink (Node's ceiling), as a child process so its CPU and memory are its own.

export async function startNodeSink(port: number, auth?: { user: string; pass: string }): Promise<RunningServer> {
  const script = join(ROOT, 'scripts', 'lib', 'sink.ts');
  const args = ['--import', 'tsx', script, String(port), ...(auth ? [`${auth.user}:${auth.pass}`] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT });
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error('node sink did not start in 20 s')), 20_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (/listening/.test(d.toString())) {
        clearTimeout(t);
        res();
      }
    });
    child.once('exit', (c) => rej(new Error(`node sink exited (${c})`)));
  });
  return { name: 'node-sink', port, pids: () => (child.pid ? [child.pid] : []), stop: () => stopChild(child) };
}
