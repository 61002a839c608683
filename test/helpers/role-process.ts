// Runs one role (`smtpdesk --role worker`, `--role relay`: src/main.ts, as `npm start -- --role …` does) as a
// child process against a test database, with its JSON log lines collected, so a test can kill it with SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface RoleProcess {
  child: ChildProcess;
  /** Parsed JSON log lines so far. */
  logs: { code?: string; [k: string]: unknown }[];
  /** Resolves when the role has started (ROLE_STARTED), bounded by timeoutMs. */
  ready(timeoutMs?: number): Promise<void>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

export function startWorkerProcess(env: Record<string, string>): RoleProcess {
  return startRoleProcess('worker', env);
}

export function startRoleProcess(role: 'worker' | 'relay', env: Record<string, string>): RoleProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--role', role], {
    env: { ...process.env, NODE_ENV: 'test', LOG_FORMAT: 'json', LOG_LEVEL: 'info', BCRYPT_COST: '4', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs: RoleProcess['logs'] = [];
  let buffered = '';
  child.stderr.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) {
      try {
        logs.push(JSON.parse(line) as RoleProcess['logs'][number]);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ? null : code)));
  return {
    child,
    logs,
    async ready(timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      while (!logs.some((l) => l.code === 'ROLE_STARTED' && l.role === role)) {
        if (child.exitCode !== null) throw new Error(`${role} process exited with ${child.exitCode}: ${JSON.stringify(logs.slice(-5))}`);
        if (Date.now() > until) throw new Error(`${role} process not ready within ${timeoutMs} ms: ${JSON.stringify(logs.slice(-5))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
