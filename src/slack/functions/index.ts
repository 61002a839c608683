// Workflow Builder steps (custom functions, `function_executed` events): responders compose their own runbooks
// ("suspected leak": disable the account, post to the incident channel…) from smtpdesk's steps. Each step
// resolves the person running the workflow (its `user_context` input), checks their role like any other
// request, then completes with outputs or fails with a reason they can read in Workflow Builder.
import type { AllMiddlewareArgs, App, SlackEventMiddlewareArgs } from '@slack/bolt';
import { disableAccount, isDomainError, parseDisableReason, rotateAccountPassword, type DisableReason } from '../../domain/index.ts';
import type { ResolvedActor } from '../actor.ts';
import { slackErrorSummary } from '../actor.ts';
import { credentialsBlocks } from '../blocks/accounts.ts';
import type { SlackDeps } from '../deps.ts';
import { FUNCTION } from '../ids.ts';
import { explainFailure, postEphemeralInDm } from '../replies.ts';
import { FUNCTION_DEFINITIONS } from './definitions.ts';

export { FUNCTION_DEFINITIONS };

/** What a function listener gets (Bolt's SlackCustomFunctionMiddlewareArgs, which its index does not export). */
type StepArgs = SlackEventMiddlewareArgs<'function_executed'> & AllMiddlewareArgs;

class StepInputError extends Error {}

function text(inputs: Record<string, unknown>, key: string): string | undefined {
  const v = inputs[key];
  return typeof v === 'string' && v.trim() ? v.trim() : undefined;
}

/** The person who runs the workflow: the `user_context` input (Slack sends `{ id, secret }`). */
function runningUser(inputs: Record<string, unknown>): string {
  const uc = inputs.user_context as { id?: unknown } | undefined;
  if (!uc || typeof uc.id !== 'string' || !/^[UW][A-Z0-9]+$/.test(uc.id)) {
    throw new StepInputError('This step needs to know who runs the workflow: set its "Run by" input to the person who started it (user_context).');
  }
  return uc.id;
}

/** A free-text reason from a form: one of ours when it names one, else "other" with the words as the note. */
function reasonOf(input: string | undefined): { reason: DisableReason; note?: string } {
  if (!input) return { reason: 'suspected_compromise', note: 'Workflow Builder step' };
  try {
    return { reason: parseDisableReason(input) };
  } catch {
    return { reason: 'other', note: input.slice(0, 500) };
  }
}

/** Runs one step: who, then the work; completes with its outputs or fails with words for the user. */
function step(deps: SlackDeps, op: string, work: (r: ResolvedActor, inputs: Record<string, unknown>, args: StepArgs) => Promise<Record<string, string>>) {
  return async (args: StepArgs): Promise<void> => {
    const { inputs, complete, fail, client, body, context } = args;
    const values = (inputs ?? {}) as Record<string, unknown>;
    let resolved: ResolvedActor | undefined;
    let userId: string | undefined;
    try {
      userId = runningUser(values);
      const teamId = body.team_id ?? context.teamId ?? '';
      resolved = await deps.directory.resolve(client, { teamId, userId });
      const outputs = await work(resolved, values, args);
      await complete({ outputs });
      deps.metrics.slackRequests.inc({ kind: 'function', result: 'ok' });
      deps.log.info({ code: 'SLACK_FUNCTION_COMPLETED', function: op, user: userId }, `workflow step ${op} completed`);
    } catch (err) {
      deps.metrics.slackRequests.inc({ kind: 'function', result: isDomainError(err) || err instanceof StepInputError ? 'refused' : 'error' });
      const reason = err instanceof StepInputError ? err.message : explainFailure(deps, err, { op: `function.${op}`, user: userId, workspace: resolved?.workspace });
      deps.log.info({ code: 'SLACK_FUNCTION_FAILED', function: op, user: userId }, `workflow step ${op} failed`);
      await fail({ error: reason }).catch((e: unknown) => deps.log.warn({ code: 'SLACK_FUNCTION_FAIL_UNSENT', err: slackErrorSummary(e) }, 'could not report a failed step'));
    }
  };
}

export function registerFunctions(app: App, deps: SlackDeps): void {
  app.function(
    FUNCTION.disable,
    step(deps, 'disable', async (r, inputs) => {
      const name = text(inputs, 'account');
      if (!name) throw new StepInputError('Give the account to disable (its name).');
      const { reason, note } = reasonOf(text(inputs, 'reason'));
      const account = await disableAccount(deps.ctx, r.actor, r.workspace.id, name, reason, note ? `${note} (Workflow Builder)` : 'Workflow Builder step');
      return { account: account.name, status: account.status };
    }),
  );

  app.function(
    FUNCTION.rotate,
    step(deps, 'rotate', async (r, inputs, { client }) => {
      const name = text(inputs, 'account');
      if (!name) throw new StepInputError('Give the account to rotate (its name).');
      const issued = await rotateAccountPassword(deps.ctx, r.actor, r.workspace.id, name, text(inputs, 'reason') ?? 'Workflow Builder step');
      // The password goes to the person running the workflow, once, in their DM: never into the workflow's outputs.
      try {
        await postEphemeralInDm(client, r.actor.id, credentialsBlocks(issued, 'rotated'));
      } catch (err) {
        deps.log.warn({ code: 'SLACK_PRIVATE_REPLY_FAILED', user: r.actor.id, errors: [slackErrorSummary(err)] }, 'could not deliver rotated credentials in the DM');
        return { account: issued.account.name, note: 'Rotated, but the new password could not be delivered to your DM: rotate again from /smtp to get one.' };
      }
      return { account: issued.account.name, note: `The new password was sent to <@${r.actor.id}> in a direct message only they can see.` };
    }),
  );
}
