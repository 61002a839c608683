// The bounces role as the composition root starts it (`--role bounces`): listening where configured when
// RETURN_PATH_DOMAIN is set, absent (and saying why) when it is not; the configuration refuses a return-path
// domain without a key.
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { startApp } from '../../src/main.ts';
import { encodeReturnPath } from '../../src/shared/return-path.ts';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';
import { sendReport } from '../helpers/reports.ts';
import { closedPort } from '../helpers/smtp-sink.ts';

const uri = testDatabaseUri();
const base = { MONGODB_URI: uri, BCRYPT_COST: '4', LOG_LEVEL: 'silent', SMTPDESK_ROLES: 'bounces', BOUNCES_HOST: '127.0.0.1' };
afterAll(async () => {
  await dropTestDatabase(uri);
});

describe('bounces role', () => {
  it('listens on BOUNCES_HOST:BOUNCES_PORT and refuses a recipient that is not a return path', async () => {
    const port = await closedPort();
    const secret = 'role test secret, sixteen+ chars';
    const app = await startApp(loadConfig({ ...base, BOUNCES_PORT: String(port), RETURN_PATH_DOMAIN: 'rp.role.test', RETURN_PATH_SECRET: secret }));
    try {
      expect(app.roles.map((r) => r.name)).toEqual(['bounces']);
      expect(app.roles[0]!.handle.description).toBe(`bounces listener on 127.0.0.1:${port} for return paths at rp.role.test`);
      expect((await sendReport(port, 'someone@rp.role.test', 'x')).rcpt.code).toBe(550);
      const signed = encodeReturnPath(Buffer.from(secret), 'rp.role.test', { queueId: 'aaaaaaaaaaaaaaaaaaaaaaaa', recipient: 0 });
      expect((await sendReport(port, signed, 'not a report')).data?.code).toBe(250);
    } finally {
      await app.stop();
    }
  });

  it('does not start without RETURN_PATH_DOMAIN', async () => {
    const app = await startApp(loadConfig(base));
    try {
      expect(app.roles).toEqual([]);
    } finally {
      await app.stop();
    }
  });

  it('refuses RETURN_PATH_DOMAIN without a key to sign with', () => {
    expect(() => loadConfig({ ...base, RETURN_PATH_DOMAIN: 'rp.role.test' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, RETURN_PATH_DOMAIN: 'rp.role.test' })).toThrow(/RETURN_PATH_SECRET: required when RETURN_PATH_DOMAIN is set/);
  });
});
