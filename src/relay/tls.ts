// The relay's TLS certificate: from RELAY_TLS_CERT_FILE / RELAY_TLS_KEY_FILE, or, outside production, a
// self-signed one generated once and cached under the data dir (<data dir>/tls/), renewed when it is
// within 30 days of expiry or was made for another hostname.
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { generate } from 'selfsigned';
import { ConfigError } from '../config.ts';
import type { Logger } from '../log.ts';

export interface TlsCredentials {
  key: Buffer;
  cert: Buffer;
  /** Where they came from, for the start-up line. */
  source: 'files' | 'self-signed';
}

const RENEW_BEFORE_MS = 30 * 86_400_000;

export async function loadTlsCredentials(opts: {
  certFile?: string;
  keyFile?: string;
  hostname: string;
  dataDir: string;
  production: boolean;
  log: Logger;
}): Promise<TlsCredentials> {
  if (opts.certFile || opts.keyFile) {
    if (!opts.certFile || !opts.keyFile) {
      throw new ConfigError(['RELAY_TLS_CERT_FILE and RELAY_TLS_KEY_FILE must be set together']);
    }
    const [cert, key] = await Promise.all([readPem(opts.certFile, 'RELAY_TLS_CERT_FILE'), readPem(opts.keyFile, 'RELAY_TLS_KEY_FILE')]);
    return { cert, key, source: 'files' };
  }
  if (opts.production) {
    throw new ConfigError(['RELAY_TLS_CERT_FILE and RELAY_TLS_KEY_FILE are required in production (a self-signed certificate is for development only)']);
  }
  return selfSigned(opts.hostname, resolve(opts.dataDir, 'tls'), opts.log);
}

async function readPem(path: string, variable: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new ConfigError([`${variable}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
}

async function selfSigned(hostname: string, dir: string, log: Logger): Promise<TlsCredentials> {
  const certPath = join(dir, 'relay-self-signed.cert.pem');
  const keyPath = join(dir, 'relay-self-signed.key.pem');
  if (existsSync(certPath) && existsSync(keyPath)) {
    const [cert, key] = await Promise.all([readFile(certPath), readFile(keyPath)]);
    if (stillGood(cert, hostname)) return { cert, key, source: 'self-signed' };
  }
  log.info({ code: 'RELAY_TLS_SELF_SIGNED', hostname, dir }, `generating a self-signed TLS certificate for ${hostname} (development only)`);
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + 365 * 86_400_000);
  const pems = await generate([{ name: 'commonName', value: hostname }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: hostname },
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  await mkdir(dir, { recursive: true });
  await writeFile(keyPath, pems.private, { mode: 0o600 });
  await chmod(keyPath, 0o600);
  await writeFile(certPath, pems.cert);
  return { cert: Buffer.from(pems.cert), key: Buffer.from(pems.private), source: 'self-signed' };
}

function stillGood(certPem: Buffer, hostname: string): boolean {
  try {
    const cert = new X509Certificate(certPem);
    return new Date(cert.validTo).getTime() - Date.now() > RENEW_BEFORE_MS && cert.checkHost(hostname) !== undefined;
  } catch {
    return false;
  }
}
