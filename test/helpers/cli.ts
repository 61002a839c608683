// Runs the real `smtpdesk` binary as a user would, against a test database.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/smtpdesk.js', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  json<T = unknown>(): T;
}

/** `env` is laid over this process's environment; a variable given as undefined is removed. `stdin`: written, then closed. */
export function runSmtpdesk(args: string[], env: Record<string, string | undefined>, timeoutMs = 30_000, opts: { stdin?: string } = {}): Promise<CliRun> {
  const merged: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'warn', BCRYPT_COST: '4', ...env };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: merged,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // Without input: closed at once (end of input), as 'ignore' was.
    child.stdin.end(opts.stdin ?? '');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`smtpdesk ${args.join(' ')} timed out\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, json: <T>() => JSON.parse(stdout) as T });
    });
  });
}
