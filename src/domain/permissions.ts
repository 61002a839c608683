// Who may do what. Admins may do everything; security responders may also disable;
// everyone in the workspace may read.
import type { Actor, Role } from './actor.ts';
import { DomainError } from './errors.ts';

export type Action =
  | 'account.list'
  | 'account.show'
  | 'account.create'
  | 'account.rotate'
  | 'account.disable'
  | 'account.enable'
  | 'account.delete'
  | 'account.keep'
  | 'account.limits'
  | 'account.surge_snooze'
  | 'account.report_leak'
  | 'usage.show'
  | 'plan.show'
  | 'plan.change'
  | 'audit.show'
  | 'workspace.manage'
  | 'queue.show'
  | 'queue.retry'
  | 'queue.purge'
  | 'domain.list'
  | 'domain.manage'
  | 'suppression.list'
  | 'suppression.manage'
  | 'request.create'
  | 'request.decide'
  | 'mail.trace';

/** Roles allowed beyond 'everyone'; an empty list means every member may. */
const ALLOWED: Record<Action, readonly Role[]> = {
  'account.list': [],
  'account.show': [],
  'usage.show': [],
  'plan.show': [],
  'account.create': ['admin'],
  'account.rotate': ['admin'],
  'account.disable': ['admin', 'responder'],
  'account.enable': ['admin'],
  'account.delete': ['admin'],
  'account.keep': ['admin'],
  'account.limits': ['admin'],
  // "Expected" on a surge alert: the people who watch the alert channel and would otherwise click Disable.
  'account.surge_snooze': ['admin', 'responder'],
  // A leaked password is contained at once (issue 18): the people who would otherwise click Disable.
  'account.report_leak': ['admin', 'responder'],
  'plan.change': ['admin'],
  'audit.show': ['admin', 'responder'],
  'workspace.manage': ['admin'],
  'queue.show': ['admin', 'responder'],
  'queue.retry': ['admin'],
  'queue.purge': ['admin'],
  'domain.list': [],
  'domain.manage': ['admin'],
  // Recipient addresses: people's data, like the queue.
  'suppression.list': ['admin', 'responder'],
  'suppression.manage': ['admin'],
  // Anyone may ask for an account; an admin other than the requester decides (src/domain/account-requests.ts).
  'request.create': [],
  'request.decide': ['admin'],
  // "Did my email go out?": every member, for their own workspace's mail only (the lookup is scoped to it).
  'mail.trace': [],
};

export function allowedRoles(action: Action): readonly Role[] {
  return ALLOWED[action];
}

export function can(actor: Actor, action: Action): boolean {
  const roles = ALLOWED[action];
  return roles.length === 0 || roles.some((r) => actor.roles.includes(r));
}

const VERB: Record<Action, string> = {
  'account.list': 'list accounts',
  'account.show': 'show accounts',
  'account.create': 'create accounts',
  'account.rotate': 'rotate passwords',
  'account.disable': 'disable accounts',
  'account.enable': 'enable accounts',
  'account.delete': 'delete accounts',
  'account.keep': 'keep idle accounts',
  'account.limits': 'change sending limits',
  'account.surge_snooze': 'mark a surge as expected',
  'account.report_leak': 'report a leaked password',
  'usage.show': 'see usage',
  'plan.show': 'see the plan',
  'plan.change': 'change the plan',
  'audit.show': 'read the audit log',
  'workspace.manage': 'manage the workspace',
  'queue.show': 'look into the outbound queue',
  'queue.retry': 'retry queued mail',
  'queue.purge': 'purge queued mail',
  'domain.list': 'see sending domains',
  'domain.manage': 'manage sending domains and their DKIM keys',
  'suppression.list': 'see the suppression list',
  'suppression.manage': 'change the suppression list',
  'request.create': 'request accounts',
  'request.decide': 'approve or deny requests',
  'mail.trace': 'trace mail',
};

export function authorize(actor: Actor, action: Action): void {
  if (can(actor, action)) return;
  const roles = ALLOWED[action];
  const who = roles.map((r) => (r === 'admin' ? 'admins' : 'security responders')).join(' and ');
  throw new DomainError('PERMISSION.DENIED', `Only ${who} may ${VERB[action]}.`, { action, allowedRoles: roles });
}
