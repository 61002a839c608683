// `smtpdesk workspace set --approvals-channel` and `--delete-needs-approval`, through the real binary.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dropTestDatabase, testDatabaseUri } from '../helpers/database.ts';
import { runSmtpdesk } from '../helpers/cli.ts';

vi.setConfig({ testTimeout: 120_000 });

let uri: string;
beforeAll(() => {
  uri = testDatabaseUri();
});
afterAll(async () => {
  await dropTestDatabase(uri);
});

const cli = (...args: string[]) => runSmtpdesk(args, { MONGODB_URI: uri, SMTPDESK_WORKSPACE: 'acme' });

describe('smtpdesk workspace set (approvals)', () => {
  it('sets and clears the approvals channel and the second admin for deletes; refuses bad values', async () => {
    expect((await cli('workspace', 'create', 'acme')).code).toBe(0);
    let r = await cli('workspace', 'set', '--approvals-channel', 'C0APPROVALS', '--delete-needs-approval', 'on', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ approvalsChannel: 'C0APPROVALS', deleteNeedsApproval: true });

    r = await cli('workspace', 'set', '--approvals-channel', '', '--delete-needs-approval', 'off', '--json');
    expect(JSON.parse(r.stdout)).toMatchObject({ approvalsChannel: null, deleteNeedsApproval: false });

    r = await cli('workspace', 'set', '--approvals-channel', '#approvals');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--approvals-channel takes a Slack channel id/);
    r = await cli('workspace', 'set', '--delete-needs-approval', 'maybe');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--delete-needs-approval takes on or off/);
  });
});
