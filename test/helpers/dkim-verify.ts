// An independent DKIM verifier: Python's dkimpy, given the DNS records a test publishes (its `dnsfunc`). It lives
// in a virtualenv under .cache/dkimpy (.ci/run installs it; the first test that needs it installs it when missing).
// Where Python or the package registry is not available, `dkimpy()` says why and the tests skip, saying so.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const VENV = join(ROOT, '.cache', 'dkimpy');
const PYTHON = join(VENV, 'bin', 'python');

const SCRIPT = `
import sys, json, logging, io, dkim
records = json.loads(sys.argv[1])
msg = sys.stdin.buffer.read()
def dnsfunc(name, timeout=5):
    n = (name.decode() if isinstance(name, bytes) else name).rstrip('.').lower()
    v = records.get(n)
    return v.encode() if v is not None else None
log = io.StringIO()
logger = logging.getLogger('dkimpy'); logger.addHandler(logging.StreamHandler(log)); logger.setLevel(logging.DEBUG)
d = dkim.DKIM(msg, logger=logger)
ok = d.verify(dnsfunc=dnsfunc)
print(json.dumps({"ok": bool(ok), "domain": (d.domain or b"").decode(), "selector": (d.selector or b"").decode(), "log": log.getvalue()[-2000:]}))
`;

let ready: { python: string } | { skip: string } | undefined;

/** The verifier's Python, installing dkimpy when missing; `skip` says why it cannot be had. */
export function dkimpy(): { python: string } | { skip: string } {
  if (ready) return ready;
  const works = () => existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import dkim, dns'], { stdio: 'ignore' }).status === 0;
  if (!works()) {
    mkdirSync(dirname(VENV), { recursive: true });
    const venv = spawnSync('python3', ['-m', 'venv', VENV], { encoding: 'utf8' });
    const pip = venv.status === 0 ? spawnSync(join(VENV, 'bin', 'pip'), ['install', '-q', 'dkimpy', 'dnspython'], { encoding: 'utf8', timeout: 180_000 }) : venv;
    if (!works()) {
      return (ready = {
        skip: `dkimpy is not installed and could not be (python3 -m venv + pip install dkimpy dnspython): ${(pip.stderr || pip.error?.message || '').trim().slice(-300)}`,
      });
    }
  }
  return (ready = { python: PYTHON });
}

export interface DkimVerdict {
  ok: boolean;
  domain: string;
  selector: string;
  log: string;
}

/** Verifies the first DKIM-Signature of `raw` with dkimpy, DNS answered from `records` (name -> TXT value). */
export function verifyWithDkimpy(python: string, raw: Buffer, records: Record<string, string>): Promise<DkimVerdict> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(python, ['-c', SCRIPT, JSON.stringify(records)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`dkimpy exited ${code}: ${err}`));
      resolvePromise(JSON.parse(out) as DkimVerdict);
    });
    child.stdin.end(raw);
  });
}
