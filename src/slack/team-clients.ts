// OAuth distribution: the Web API client of one Slack team, with that team's bot token from its installation.
// For what runs outside a request (the alert channel, the jobs' alerts, App Home refreshes): inside a request,
// Bolt's authorize hands each listener its team's client already.
import { WebClient } from '@slack/web-api';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../log.ts';
import type { Runtime } from '../runtime.ts';
import { slackInstallationRepository } from '../store/repositories/slack-installations.ts';
import { webClientOptions } from './client.ts';
import { mongoInstallationStore, type MongoInstallationStore } from './installations.ts';

/** The client for a Slack team id, or null when the team has no installation (or no bot token). */
export type TeamClients = (slackTeamId: string | undefined) => Promise<WebClient | null>;

/** Installations in MongoDB, tokens sealed with SMTPDESK_SECRET_KEY, refreshed with oauth.v2.access. */
export function installationStoreFor(rt: Pick<Runtime, 'config' | 'ctx' | 'db'>, log: Logger): MongoInstallationStore {
  const oauth = rt.config.slack.oauth;
  if (!oauth) throw new Error('SLACK_CLIENT_ID… are not set');
  if (!rt.ctx.secrets) throw new Error('SMTPDESK_SECRET_KEY is required for OAuth distribution');
  const client = new WebClient(undefined, webClientOptions(rt.config, log));
  return mongoInstallationStore({
    repo: slackInstallationRepository(rt.db.models),
    secrets: rt.ctx.secrets,
    log,
    refresh: (refreshToken) => client.oauth.v2.access({ client_id: oauth.clientId, client_secret: oauth.clientSecret, grant_type: 'refresh_token', refresh_token: refreshToken }),
  });
}

/** Per-team clients from the installations; undefined without OAuth distribution. Clients are cached by token. */
export function teamClients(rt: Pick<Runtime, 'config' | 'ctx' | 'db'>, log: Logger, store?: MongoInstallationStore): TeamClients | undefined {
  if (!rt.config.slack.oauth || !rt.ctx.secrets) return undefined;
  const installations = store ?? installationStoreFor(rt, log);
  // A safe-to-lose cache: a rotated token simply makes a new client.
  const clients = new LRUCache<string, WebClient>({ max: 500 });
  return async (teamId) => {
    if (!teamId) return null;
    try {
      const token = (await installations.fetchInstallation({ teamId, enterpriseId: undefined, isEnterpriseInstall: false })).bot?.token;
      if (!token) return null;
      let client = clients.get(token);
      if (!client) clients.set(token, (client = new WebClient(token, webClientOptions(rt.config, log))));
      return client;
    } catch {
      return null;
    }
  };
}
