// Runs a modal submission inside Slack's 3-second limit. The domain call races a deadline: when it answers in
// time, the ack carries the result (inline field errors, an updated view, or closing the modal); when it does
// not, the modal turns into "working…" at once and is updated with the result when the work ends.
import type { AckFn, App, ViewResponseAction, ViewSubmitAction, ViewStateValue } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { DomainError, isDomainError, type ErrorCode } from '../../domain/index.ts';
import type { ResolvedActor } from '../actor.ts';
import { esc, type ModalView } from '../blocks/common.ts';
import { noticeModal, workingModal } from '../blocks/modals.ts';
import type { SlackDeps } from '../deps.ts';
import { explainFailure, safeError } from '../replies.ts';
import { decodeMeta, replyTargetOf, type ModalMeta } from './meta.ts';
import { updateView } from './open.ts';
import type { ReplyTarget } from '../replies.ts';

export interface Submission {
  deps: SlackDeps;
  client: WebClient;
  body: ViewSubmitAction;
  meta: ModalMeta;
  resolved: ResolvedActor;
  target: ReplyTarget;
  /** The submitted input: state.values[block][action]. */
  input(block: string, action: string): ViewStateValue | undefined;
}

/** What to answer: close the modal, show inline errors, or replace the view; then work done after the ack. */
export type SubmitResult = { close: true; after?: () => Promise<void> } | { errors: Record<string, string> } | { view: ModalView; after?: (viewId: string) => Promise<void> };

export interface SubmitSpec {
  op: string;
  title: string;
  /** The input block a domain error belongs to (shown inline there), if any. */
  fieldFor?: (code: ErrorCode, s: Submission) => string | undefined;
  /** Extra words for a field error (e.g. how to free a slot). */
  extra?: (code: ErrorCode) => string;
  run(s: Submission): Promise<SubmitResult>;
}

/** Registers the view_submission listener for `callbackId`. */
export function onSubmit(app: App, deps: SlackDeps, callbackId: string, spec: SubmitSpec): void {
  app.view<ViewSubmitAction>(callbackId, async ({ ack, body, client }) => runSubmission(deps, { ack, body, client }, spec));
}

export async function runSubmission(deps: SlackDeps, args: { ack: AckFn<ViewResponseAction>; body: ViewSubmitAction; client: WebClient }, spec: SubmitSpec): Promise<void> {
  const { ack, body, client } = args;
  const task = settle(deps, body, client, spec);
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([task, new Promise<null>((r) => (timer = setTimeout(() => r(null), deps.submitDeadlineMs)))]);
  clearTimeout(timer);
  const viewId = body.view.id;

  if (inTime) {
    await ack(ackPayload(inTime));
    const result = 'errors' in inTime ? 'refused' : 'ok';
    deps.metrics.slackRequests.inc({ kind: 'view', result });
    deps.log.info({ code: 'SLACK_VIEW_SUBMITTED', op: spec.op, result, user: body.user.id }, `modal ${spec.op} submitted`);
    await runAfter(deps, inTime, viewId);
    return;
  }
  await ack({ response_action: 'update', view: workingModal(spec.title) });
  deps.log.warn({ code: 'SLACK_SUBMIT_SLOW', op: spec.op, deadlineMs: deps.submitDeadlineMs }, 'modal submission outlasted the ack deadline; answering later');
  const late = await task;
  deps.metrics.slackRequests.inc({ kind: 'view', result: 'late' });
  deps.log.info({ code: 'SLACK_VIEW_SUBMITTED', op: spec.op, result: 'late', user: body.user.id }, `modal ${spec.op} submitted (answered late)`);
  if ('errors' in late) {
    await updateView(deps, client, viewId, noticeModal(spec.title, `:no_entry_sign: ${Object.values(late.errors).map(esc).join('\n')}`));
  } else if ('view' in late) {
    await updateView(deps, client, viewId, late.view);
  } else {
    await updateView(deps, client, viewId, noticeModal(spec.title, ':white_check_mark: Done.'));
  }
  await runAfter(deps, late, viewId);
}

function ackPayload(r: SubmitResult): ViewResponseAction | undefined {
  if ('errors' in r) return { response_action: 'errors', errors: r.errors };
  if ('view' in r) return { response_action: 'update', view: r.view };
  return undefined;
}

async function runAfter(deps: SlackDeps, r: SubmitResult, viewId: string): Promise<void> {
  try {
    if ('close' in r && r.after) await r.after();
    if ('view' in r && r.after) await r.after(viewId);
  } catch (err) {
    deps.log.error({ code: 'SLACK_AFTER_SUBMIT_FAILED', err: safeError(err) }, 'work after a modal submission failed');
  }
}

/** Never rejects: every failure becomes an answer for the user. */
async function settle(deps: SlackDeps, body: ViewSubmitAction, client: WebClient, spec: SubmitSpec): Promise<SubmitResult> {
  let resolved: ResolvedActor | undefined;
  let submission: Submission | undefined;
  try {
    const meta = decodeMeta(body.view.private_metadata);
    const teamId = body.team?.id ?? body.user.team_id ?? body.view.team_id;
    resolved = await deps.directory.resolve(client, { teamId, userId: body.user.id, userName: body.user.name });
    if (meta.w && meta.w !== resolved.workspace.id) {
      throw new DomainError('INPUT.INVALID', 'This form belongs to another workspace; open it again.');
    }
    const values = body.view.state?.values ?? {};
    submission = {
      deps,
      client,
      body,
      meta,
      resolved,
      target: replyTargetOf(meta, body.user.id),
      input: (block, action) => values[block]?.[action],
    };
    return await spec.run(submission);
  } catch (err) {
    const text = explainFailure(deps, err, { op: spec.op, user: body.user.id, workspace: resolved?.workspace });
    const field = isDomainError(err) && submission ? spec.fieldFor?.(err.code, submission) : undefined;
    if (field && isDomainError(err)) return { errors: { [field]: `${text}${spec.extra?.(err.code) ?? ''}` } };
    return { view: noticeModal(spec.title, `:no_entry_sign: ${text}`) };
  }
}
