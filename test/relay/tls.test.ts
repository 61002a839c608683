// The relay's certificate: from RELAY_TLS_CERT_FILE/RELAY_TLS_KEY_FILE, with a clear error when they cannot
// be used; production never falls back to a self-signed one.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startRelay } from '../../src/relay/relay.ts';
import { loadTlsCredentials } from '../../src/relay/tls.ts';
import { startTestRelay, testCertificate, type TestRelay } from '../helpers/relay.ts';

const dir = mkdtempSync(join(tmpdir(), 'smtpdesk-tls-'));
const log = createLogger({ level: 'silent' });
let t: TestRelay;
beforeAll(async () => {
  t = await startTestRelay();
});
afterAll(async () => {
  await t?.close();
});

/** The certificate a client sees after STARTTLS. */
function servedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const plain = netConnect({ host: '127.0.0.1', port });
    let buf = '';
    let step = 0;
    plain.on('error', reject);
    plain.on('data', (d) => {
      buf += d.toString();
      if (!buf.endsWith('\r\n')) return;
      const last = buf.trimEnd().split('\r\n').pop()!;
      buf = '';
      if (/^\d{3}-/.test(last)) return;
      if (step === 0) plain.write('EHLO client.test\r\n');
      else if (step === 1) plain.write('STARTTLS\r\n');
      else {
        plain.removeAllListeners('data');
        const s: TLSSocket = tlsConnect({ socket: plain, rejectUnauthorized: false }, () => {
          resolve(new X509Certificate(s.getPeerCertificate(true).raw));
          s.destroy();
        });
        s.on('error', reject);
      }
      step++;
    });
  });
}

it('serves the certificate from RELAY_TLS_CERT_FILE and RELAY_TLS_KEY_FILE', async () => {
  const { cert, key } = await testCertificate();
  writeFileSync(join(dir, 'cert.pem'), cert);
  writeFileSync(join(dir, 'key.pem'), key);
  const relay = await startRelay(t.rt, { port: 0, host: '127.0.0.1', tlsCertFile: join(dir, 'cert.pem'), tlsKeyFile: join(dir, 'key.pem') });
  try {
    expect(relay.tlsSource).toBe('files');
    const served = await servedCertificate(relay.port);
    expect(served.fingerprint256).toBe(new X509Certificate(cert).fingerprint256);
  } finally {
    await relay.close();
  }
});

it('a certificate file that cannot be read stops the start with the variable named', async () => {
  const err = await loadTlsCredentials({ certFile: join(dir, 'missing.pem'), keyFile: join(dir, 'key.pem'), hostname: 'x', dataDir: dir, production: false, log }).catch(
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).problems).toEqual([`RELAY_TLS_CERT_FILE: cannot read ${join(dir, 'missing.pem')} (ENOENT)`]);
});

it('production without certificate files refuses to start rather than use a self-signed certificate', async () => {
  const err = await loadTlsCredentials({ hostname: 'mail.example.com', dataDir: dir, production: true, log }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect(String(err)).toMatch(/RELAY_TLS_CERT_FILE and RELAY_TLS_KEY_FILE are required in production/);
});

it('development generates a self-signed certificate for RELAY_HOSTNAME and reuses it', async () => {
  const first = await loadTlsCredentials({ hostname: 'relay.dev.test', dataDir: dir, production: false, log });
  const second = await loadTlsCredentials({ hostname: 'relay.dev.test', dataDir: dir, production: false, log });
  expect(first.source).toBe('self-signed');
  expect(new X509Certificate(first.cert).checkHost('relay.dev.test')).toBe('relay.dev.test');
  expect(second.cert.equals(first.cert)).toBe(true);
  // another hostname gets a new one
  const other = await loadTlsCredentials({ hostname: 'other.dev.test', dataDir: dir, production: false, log });
  expect(other.cert.equals(first.cert)).toBe(false);
});
