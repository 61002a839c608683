// Composition root shared by both entry points (main.ts and the CLI): the runtime, with the event
// subscribers that reach other adapters hung on it. Every process posts changes to the workspace's alert
// channel and writes outbound webhook events to the outbox, so CLI and webhook changes are seen too.
import type { Config } from './config.ts';
import { openRuntime, type Runtime } from './runtime.ts';
import { webhookOutboxStore } from './store/repositories/webhook-outbox.ts';
import { outboxEventSink } from './outbound-webhooks/outbox-sink.ts';

export async function openAppRuntime(config: Config, opts: Parameters<typeof openRuntime>[1] = {}): Promise<Runtime> {
  const rt = await openRuntime(config, opts);
  try {
    await wireEventSinks(rt);
  } catch (err) {
    await rt.close();
    throw err;
  }
  return rt;
}

/** The scheduled jobs on demand for the CLI, posting their alerts through Slack when it is configured. */
export async function openJobsConsole(rt: Runtime, instanceId: string) {
  const [{ jobsConsole }, { createAlertPoster }] = await Promise.all([import('./jobs/console.ts'), import('./slack/job-alert-poster.ts')]);
  const { teamClients } = await import('./slack/team-clients.ts');
  return jobsConsole(rt, { alerts: createAlertPoster(rt.config, rt.log, teamClients(rt, rt.log)), instanceId });
}

async function wireEventSinks(rt: Runtime): Promise<void> {
  const { config, db, ctx, events, log } = rt;
  // The http role's dispatcher sends what lands in the outbox.
  if (config.http.outboundWebhookUrls.length) {
    events.subscribe(outboxEventSink({ outbox: webhookOutboxStore(db.models), workspaces: ctx.workspaces, urls: config.http.outboundWebhookUrls }));
  }
  // Loaded only when configured: the CLI starts faster without the Slack client.
  if (config.slack.botToken || config.slack.oauth) {
    const [{ slackAlertSink }, { createWebClient }, { teamClients }] = await Promise.all([
      import('./slack/alerts.ts'),
      import('./slack/client.ts'),
      import('./slack/team-clients.ts'),
    ]);
    // OAuth distribution without a bot token: each workspace's alerts go out with its own team's token.
    const teams = config.slack.botToken ? undefined : teamClients(rt, log);
    const client = teams ? (ws: { slackTeamId?: string }) => teams(ws.slackTeamId) : createWebClient(config, log);
    const slackAlerts = slackAlertSink({ client, findWorkspace: (id) => ctx.workspaces.findById(id), log: log.child({ component: 'slack-alerts' }) });
    events.subscribe(slackAlerts);
    rt.attach(slackAlerts);
    // Leaked-credential alerts, with their buttons (issue 18).
    const { leakAlertSink } = await import('./slack/leak-alert-sink.ts');
    const leakAlerts = leakAlertSink({ client, findWorkspace: (id) => ctx.workspaces.findById(id), log: log.child({ component: 'slack-alerts' }) });
    events.subscribe(leakAlerts);
    rt.attach(leakAlerts);
  }
}
