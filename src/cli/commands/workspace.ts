import { createWorkspace, listWorkspaces, resolveWorkspace, setWorkspacePlan, updateWorkspaceSettings, type Workspace } from '../../domain/index.ts';
import { formatDate } from '../../shared/format.ts';
import { requireArg, UsageError, type CliCommand, type OptionValues } from '../command.ts';
import { renderTable } from '../table.ts';
import { applyCredentialPolicyOptions, CREDENTIAL_POLICY_HELP, CREDENTIAL_POLICY_OPTIONS, credentialPolicyRow, describeCredentialPolicy } from './credential-policy-options.ts';
import { applyReputationOptions, hasReputationOption, REPUTATION_OPTION_HELP, REPUTATION_OPTIONS } from './reputation-options.ts';

export function workspaceRow(w: Workspace) {
  return {
    id: w.id,
    name: w.name,
    plan: w.planId,
    slackTeamId: w.slackTeamId ?? null,
    alertChannel: w.alertChannel ?? null,
    roles: w.roles,
    surgeAutoDisable: w.surgeAutoDisable === true,
    credentialPolicy: credentialPolicyRow(w),
    approvalsChannel: w.approvalsChannel ?? null,
    deleteNeedsApproval: w.deleteNeedsApproval === true,
    reputation: w.reputation ?? {},
    createdAt: w.createdAt.toISOString(),
  };
}

const create: CliCommand = {
  path: ['workspace', 'create'],
  summary: 'Create a workspace',
  args: 'NAME',
  options: { plan: { type: 'string' }, 'slack-team': { type: 'string' }, 'alert-channel': { type: 'string' } },
  optionHelp: [
    '--plan PLAN            10k (default), 20k, 50k or 100k',
    '--slack-team TEAM_ID   the Slack team this workspace belongs to',
    '--alert-channel ID     Slack channel for alerts',
  ],
  async run(cli, pos, opts) {
    const rt = await cli.runtime();
    const ws = await createWorkspace(rt.ctx, cli.actor, {
      name: requireArg(pos, 0, 'NAME'),
      planId: opts.plan as string | undefined,
      slackTeamId: opts['slack-team'] as string | undefined,
      alertChannel: opts['alert-channel'] as string | undefined,
      defaultPlan: rt.config.accounts.defaultPlan,
    });
    if (cli.json) return workspaceRow(ws);
    cli.print(`Created workspace "${ws.name}" on the ${ws.planId} plan (id ${ws.id}).`);
  },
};

const list: CliCommand = {
  path: ['workspace', 'list'],
  summary: 'List workspaces',
  async run(cli) {
    const all = await listWorkspaces(await cli.domain(), cli.actor);
    if (cli.json) return all.map(workspaceRow);
    if (!all.length) return cli.print('No workspaces yet. Create one with: smtpdesk workspace create NAME');
    cli.print(
      renderTable(all, [
        { header: 'NAME', value: (w) => w.name },
        { header: 'PLAN', value: (w) => w.planId },
        { header: 'ACCOUNTS', value: (w) => String(w.slotsUsed), align: 'right' },
        { header: 'SLACK TEAM', value: (w) => w.slackTeamId ?? '—' },
        { header: 'ALERT CHANNEL', value: (w) => w.alertChannel ?? '—' },
        { header: 'CREATED', value: (w) => formatDate(w.createdAt) },
        { header: 'ID', value: (w) => w.id },
      ]),
    );
  },
};

const setPlan: CliCommand = {
  path: ['workspace', 'set-plan'],
  summary: "Change a workspace's plan",
  args: 'PLAN',
  async run(cli, pos) {
    const ws = await cli.workspace();
    const updated = await setWorkspacePlan(await cli.domain(), cli.actor, ws.id, requireArg(pos, 0, 'PLAN'));
    if (cli.json) return workspaceRow(updated);
    cli.print(`"${updated.name}" is on the ${updated.planId} plan.`);
  },
};

/** --approvals-channel and --delete-needs-approval (account requests, src/domain/account-requests.ts). */
const APPROVAL_FLAGS = ['approvals-channel', 'delete-needs-approval'];

function approvalSettings(opts: OptionValues): { approvalsChannel?: string | null; deleteNeedsApproval?: boolean } {
  const out: { approvalsChannel?: string | null; deleteNeedsApproval?: boolean } = {};
  const channel = opts['approvals-channel'];
  if (channel !== undefined) {
    if (typeof channel !== 'string' || (channel !== '' && !/^[CG][A-Z0-9]{2,}$/.test(channel)))
      throw new UsageError('--approvals-channel takes a Slack channel id such as C0123ABCD ("" to clear)');
    out.approvalsChannel = channel || null;
  }
  const del = opts['delete-needs-approval'];
  if (del !== undefined) {
    if (del !== 'on' && del !== 'off') throw new UsageError('--delete-needs-approval takes on or off');
    out.deleteNeedsApproval = del === 'on';
  }
  return out;
}

const set: CliCommand = {
  path: ['workspace', 'set'],
  summary: "Change a workspace's alert channel and roles",
  options: {
    'alert-channel': { type: 'string' },
    admins: { type: 'string' },
    responders: { type: 'string' },
    'admin-group': { type: 'string' },
    'responder-group': { type: 'string' },
    'surge-auto-disable': { type: 'string' },
    ...CREDENTIAL_POLICY_OPTIONS,
    'approvals-channel': { type: 'string' },
    'delete-needs-approval': { type: 'string' },
    ...REPUTATION_OPTIONS,
  },
  optionHelp: [
    '--alert-channel ID        Slack channel for alerts ("" to clear)',
    '--admins U1,U2            Slack user ids of admins',
    '--responders U1,U2        Slack user ids of security responders',
    '--admin-group S1          Slack user group of admins',
    '--responder-group S1      Slack user group of responders',
    '--surge-auto-disable on|off  a surge alert disables the account at once (and says so) instead of waiting for a click',
    ...CREDENTIAL_POLICY_HELP,
    ...REPUTATION_OPTION_HELP,
    '--approvals-channel ID   Slack channel where account requests wait for an admin ("" to clear)',
    '--delete-needs-approval on|off  a delete asked in Slack waits for a second admin',
  ],
  async run(cli, _pos, opts) {
    let ws = await cli.workspace();
    const policy = await applyCredentialPolicyOptions(cli, ws, opts);
    if (policy) ws = policy;
    if (hasReputationOption(opts)) {
      // The guard's settings are their own change (one audit entry); other settings may not ride along.
      if (['alert-channel', 'admins', 'responders', 'admin-group', 'responder-group', 'surge-auto-disable', ...APPROVAL_FLAGS].some((k) => opts[k] !== undefined)) {
        throw new UsageError('give the --reputation-… options in a command of their own');
      }
      const { workspace, line } = await applyReputationOptions(cli, ws, opts);
      if (cli.json) return workspaceRow(workspace);
      return cli.print(`Updated "${workspace.name}". ${policy ? `${describeCredentialPolicy(policy)} ` : ''}${line}`);
    }
    const ids = (v: unknown) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined;
    const touched = ['alert-channel', 'admins', 'responders', 'admin-group', 'responder-group', 'surge-auto-disable', ...APPROVAL_FLAGS].some((k) => opts[k] !== undefined);
    if (!touched && policy) return cli.json ? workspaceRow(policy) : cli.print(`Updated "${policy.name}". ${describeCredentialPolicy(policy)}`);
    if (!touched) throw new UsageError('nothing to change: give --alert-channel, --admins, --responders, --admin-group, --responder-group or --surge-auto-disable');
    const auto = opts['surge-auto-disable'];
    if (auto !== undefined && auto !== 'on' && auto !== 'off') throw new UsageError('--surge-auto-disable takes on or off');
    const roles = { ...ws.roles };
    if (opts.admins !== undefined) roles.admins = ids(opts.admins)!;
    if (opts.responders !== undefined) roles.responders = ids(opts.responders)!;
    if (opts['admin-group'] !== undefined) roles.adminGroup = (opts['admin-group'] as string) || undefined;
    if (opts['responder-group'] !== undefined) roles.responderGroup = (opts['responder-group'] as string) || undefined;
    const patch: { alertChannel?: string | null; roles?: Workspace['roles']; surgeAutoDisable?: boolean } = { roles };
    if (auto !== undefined) patch.surgeAutoDisable = auto === 'on';
    if (opts['alert-channel'] !== undefined) patch.alertChannel = (opts['alert-channel'] as string) || null;
    Object.assign(patch, approvalSettings(opts));
    const updated = await updateWorkspaceSettings(await cli.domain(), cli.actor, ws.id, patch);
    if (cli.json) return workspaceRow(updated);
    cli.print(`Updated "${updated.name}".${auto !== undefined ? ` Surge alerts ${updated.surgeAutoDisable ? 'disable the account at once' : 'wait for a click'}.` : ''}`);
  },
};

export const workspaceCommands: CliCommand[] = [create, list, setPlan, set];
export { resolveWorkspace };
