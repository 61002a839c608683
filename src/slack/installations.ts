// Bolt's InstallationStore on MongoDB, for OAuth distribution: one deployment installed in many Slack teams
// (each team its own smtpdesk workspace, created on its first request). Team and org-wide (Enterprise Grid)
// installs are keyed apart; tokens are sealed with SMTPDESK_SECRET_KEY before they reach the database.
//
// Token rotation: a bot token that expires within REFRESH_AHEAD_MS is refreshed here, under a lease in the
// installation's document (compare-and-set), so across every instance one refresh runs at a time per
// installation; the others wait (bounded) for its result. The installation handed to Bolt carries no refresh
// token, so Bolt never starts a second, unguarded refresh of its own.
import { randomBytes } from 'node:crypto';
import type { Installation, InstallationQuery, InstallationStore } from '@slack/bolt';
import type { SecretBox } from '../domain/index.ts';
import type { Logger } from '../log.ts';
import type { SlackInstallationRepository, StoredInstallation } from '../store/repositories/slack-installations.ts';
import { slackErrorSummary } from './actor.ts';

/** Bolt refreshes at 2 hours before expiry; we do it earlier so that it never has to. */
export const REFRESH_AHEAD_MS = 3 * 3_600_000;
const LEASE_MS = 30_000;
const WAIT_STEP_MS = 200;
const WAIT_STEPS = 50;
const SEAL_CONTEXT = 'slack-installation';

export interface RefreshedToken {
  access_token?: string;
  refresh_token?: string;
  expires_in?: number;
}

export interface InstallationStoreDeps {
  repo: SlackInstallationRepository;
  secrets: SecretBox;
  /** oauth.v2.access with grant_type refresh_token. */
  refresh(refreshToken: string): Promise<RefreshedToken>;
  log: Logger;
  now?: () => Date;
  /** This instance, as the lease owner. */
  instanceId?: string;
}

type AnyInstallation = Installation<'v1' | 'v2', boolean>;

/** The document key of an installation or a query: org-wide installs by enterprise, others by team. */
export function installationKey(q: { isEnterpriseInstall?: boolean; enterpriseId?: string | null; teamId?: string | null }): string {
  if (q.isEnterpriseInstall && q.enterpriseId) return `E:${q.enterpriseId}`;
  if (!q.teamId) throw new Error('an installation query needs a team id (or an enterprise id for an org-wide install)');
  return `T:${q.enterpriseId ?? '-'}:${q.teamId}`;
}

export interface MongoInstallationStore extends InstallationStore {
  deleteInstallation(query: InstallationQuery<boolean>): Promise<void>;
  /** app_uninstalled: the team's (or the org's) installation is removed. */
  removeTeam(teamId: string | undefined, enterpriseId: string | undefined): Promise<number>;
}

export function mongoInstallationStore(deps: InstallationStoreDeps): MongoInstallationStore {
  const now = deps.now ?? (() => new Date());
  const owner = deps.instanceId ?? `slack#${randomBytes(6).toString('hex')}`;
  const seal = (i: AnyInstallation) => deps.secrets.seal(JSON.stringify(i), SEAL_CONTEXT);
  const open = (s: StoredInstallation): AnyInstallation => normalise(JSON.parse(deps.secrets.open(s.sealed, SEAL_CONTEXT)) as AnyInstallation);
  const expiresAtOf = (i: AnyInstallation) => (i.bot?.expiresAt ? new Date(i.bot.expiresAt * 1000) : undefined);
  const expiring = (i: AnyInstallation) => Boolean(i.bot?.refreshToken && i.bot.expiresAt && i.bot.expiresAt * 1000 - now().getTime() < REFRESH_AHEAD_MS);

  async function save(installation: AnyInstallation): Promise<void> {
    const isOrg = installation.isEnterpriseInstall === true;
    const key = installationKey({ isEnterpriseInstall: isOrg, enterpriseId: installation.enterprise?.id, teamId: installation.team?.id });
    await deps.repo.save(
      {
        key,
        ...(installation.team?.id && !isOrg ? { teamId: installation.team.id } : {}),
        ...(installation.enterprise?.id ? { enterpriseId: installation.enterprise.id } : {}),
        isEnterpriseInstall: isOrg,
        sealed: seal(installation),
        ...(expiresAtOf(installation) ? { botExpiresAt: expiresAtOf(installation) } : {}),
      },
      now(),
    );
    deps.log.info({ code: 'SLACK_INSTALLED', key, team: installation.team?.id, enterprise: installation.enterprise?.id }, 'Slack installation stored');
  }

  async function find(query: InstallationQuery<boolean>): Promise<StoredInstallation | null> {
    if (query.isEnterpriseInstall) return deps.repo.find(installationKey(query));
    // A team of an org where the app is installed org-wide has no installation of its own.
    return (await deps.repo.find(installationKey({ ...query, isEnterpriseInstall: false }))) ?? (query.enterpriseId ? deps.repo.find(`E:${query.enterpriseId}`) : null);
  }

  /** Refreshes the bot token once across instances; returns the installation as it is afterwards. */
  async function refreshed(stored: StoredInstallation): Promise<AnyInstallation> {
    for (let step = 0; step < WAIT_STEPS; step++) {
      const current = step === 0 ? stored : await deps.repo.find(stored.key);
      if (!current) throw new Error('the Slack installation was removed');
      const installation = open(current);
      if (!expiring(installation)) return installation;
      if (await deps.repo.leaseRefresh(stored.key, owner, now(), LEASE_MS)) {
        // Another instance may have finished between our read and our lease.
        const latest = await deps.repo.find(stored.key);
        const fresh = latest ? open(latest) : installation;
        if (!expiring(fresh)) {
          await deps.repo.releaseRefresh(stored.key, owner);
          return fresh;
        }
        try {
          const res = await deps.refresh(fresh.bot!.refreshToken!);
          if (!res.access_token || !res.refresh_token || !res.expires_in) throw new Error('oauth.v2.access gave no token');
          const bot = { ...fresh.bot!, token: res.access_token, refreshToken: res.refresh_token, expiresAt: Math.floor(now().getTime() / 1000) + res.expires_in };
          const next: AnyInstallation = { ...fresh, bot };
          await deps.repo.finishRefresh(stored.key, owner, seal(next), expiresAtOf(next), now());
          deps.log.info({ code: 'SLACK_TOKEN_REFRESHED', key: stored.key, expiresAt: expiresAtOf(next) }, 'rotated a Slack bot token');
          return next;
        } catch (err) {
          await deps.repo.releaseRefresh(stored.key, owner);
          deps.log.error({ code: 'SLACK_TOKEN_REFRESH_FAILED', key: stored.key, err: slackErrorSummary(err) }, 'could not refresh a Slack bot token');
          return fresh;
        }
      }
      await new Promise((r) => setTimeout(r, WAIT_STEP_MS));
    }
    deps.log.warn({ code: 'SLACK_TOKEN_REFRESH_WAIT', key: stored.key }, 'another instance is still refreshing this Slack token; using the current one');
    return open((await deps.repo.find(stored.key)) ?? stored);
  }

  return {
    storeInstallation: async (installation) => save(installation),
    async fetchInstallation(query) {
      const stored = await find(query);
      if (!stored) throw new Error(`smtpdesk is not installed in this Slack ${query.isEnterpriseInstall ? 'organisation' : 'team'}`);
      const installation = expiring(open(stored)) ? await refreshed(stored) : open(stored);
      return withoutRefresh(installation);
    },
    async deleteInstallation(query) {
      const key = installationKey(query);
      if (await deps.repo.delete(key)) deps.log.info({ code: 'SLACK_UNINSTALLED', key }, 'Slack installation removed');
    },
    async removeTeam(teamId, enterpriseId) {
      let removed = 0;
      const keys = [teamId ? installationKey({ teamId, enterpriseId }) : undefined, enterpriseId && !teamId ? `E:${enterpriseId}` : undefined].filter((k): k is string => !!k);
      for (const key of keys) if (await deps.repo.delete(key)) removed++;
      if (removed) deps.log.info({ code: 'SLACK_UNINSTALLED', team: teamId, enterprise: enterpriseId, removed }, 'Slack installation removed');
      return removed;
    },
  };
}

/** Null-safe: fields stored as null (or missing from an older install) come back absent or as Bolt expects. */
function normalise(i: AnyInstallation): AnyInstallation {
  const out = { ...i } as AnyInstallation & Record<string, unknown>;
  for (const [k, v] of Object.entries(out)) if (v === null) delete out[k];
  if (!out.user || typeof out.user !== 'object') out.user = { id: '', token: undefined, scopes: undefined };
  out.authVersion ??= 'v2';
  out.isEnterpriseInstall ??= false;
  return out;
}

/** What Bolt gets: no refresh token, so the refresh stays ours (one at a time, across instances). */
function withoutRefresh(i: AnyInstallation): AnyInstallation {
  if (!i.bot?.refreshToken) return i;
  const { refreshToken: _r, expiresAt: _e, ...bot } = i.bot;
  return { ...i, bot };
}
