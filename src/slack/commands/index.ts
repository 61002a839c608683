// The slash command (SLACK_COMMAND, default /smtp). It acks at once; modal subcommands open their modal from
// the trigger right after, and the others answer through the response_url when the domain has answered.
import type { AllMiddlewareArgs, App, RespondFn, SlackCommandMiddlewareArgs, SlashCommand } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { SlackDeps } from '../deps.ts';
import { explainFailure, safeError, type Message } from '../replies.ts';
import { openAccountModal, openCreateModal, type ModalOrigin } from '../views/open.ts';
import { openAddDomainModal } from '../views/domains.ts';
import { parseSubcommand } from './parse.ts';
import { helpMessage, report } from './reports.ts';
import type { ResolvedActor } from '../actor.ts';
import { requestAccount } from '../../domain/index.ts';
import { postRequestCard } from '../requests.ts';

export function registerCommands(app: App, deps: SlackDeps): void {
  app.command(deps.config.slack.command, slashCommandListener(deps));
}

/** The listener, built from its deps at registration (tests may call it with fake ack/respond/client). */
export const slashCommandListener =
  (deps: SlackDeps) =>
  async ({ ack, command, respond, client }: Pick<SlackCommandMiddlewareArgs & AllMiddlewareArgs, 'ack' | 'command' | 'respond' | 'client'>): Promise<void> => {
    await ack();
    await handleCommand(deps, command, respond, client);
  };

export async function handleCommand(deps: SlackDeps, command: SlashCommand, respond: RespondFn, client: WebClient): Promise<void> {
  const sub = parseSubcommand(command.text ?? '');
  const origin: ModalOrigin = { origin: 'command', channelId: command.channel_id, responseUrl: command.response_url };
  let resolved: ResolvedActor | undefined;
  const who = async () =>
    (resolved = await deps.directory.resolve(client, {
      teamId: command.team_id,
      teamName: command.team_domain,
      userId: command.user_id,
      userName: command.user_name,
    }));
  const answer = async (m: Message): Promise<void> => void (await respond({ response_type: 'ephemeral', text: m.text, blocks: m.blocks }));
  try {
    switch (sub.kind) {
      case 'help':
        await answer(helpMessage(deps, sub.problem));
        break;
      case 'create':
        await openCreateModal(deps, client, command.trigger_id, sub.name, who, origin);
        break;
      case 'rotate':
      case 'enable':
      case 'delete':
        await openAccountModal(deps, client, command.trigger_id, sub.kind, sub.name, who, origin);
        break;
      case 'domains-add':
        await openAddDomainModal(deps, client, command.trigger_id, sub.domain, who, origin);
        break;
      case 'disable':
        await openAccountModal(deps, client, command.trigger_id, 'disable', sub.name, who, { ...origin, reason: sub.reason, note: sub.note });
        break;
      case 'request': {
        const r = await who();
        const { request, channel } = await requestAccount(deps.ctx, r.actor, r.workspace.id, { name: sub.name, reason: sub.reason });
        await answer({ text: await postRequestCard(deps, client, request, channel) });
        break;
      }
      default:
        await answer(await report(deps, sub, await who()));
    }
    const result = sub.kind === 'help' && sub.problem ? 'help' : 'ok';
    deps.metrics.slackRequests.inc({ kind: 'command', result });
    // The text itself is not logged: people paste anything into a command.
    deps.log.info({ code: 'SLACK_COMMAND', sub: sub.kind, result, user: command.user_id, team: command.team_id }, `${deps.config.slack.command} ${sub.kind}`);
  } catch (err) {
    deps.metrics.slackRequests.inc({ kind: 'command', result: 'error' });
    const text = explainFailure(deps, err, { op: `command.${sub.kind}`, user: command.user_id, workspace: resolved?.workspace });
    try {
      await answer({ text: `:no_entry_sign: ${text}` });
    } catch (e) {
      deps.log.warn({ code: 'SLACK_RESPOND_FAILED', err: safeError(e) }, 'could not answer a slash command');
    }
  }
}
