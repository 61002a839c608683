// The domain's public surface: adapters import from here.
export * from './accounts.ts';
export * from './workspaces.ts';
export * from './usage.ts';
export * from './smtp-auth.ts';
export { listAudit, recordChange, accountSummary } from './audit.ts';
export { findAccountOrThrow, findAccountByUsernameOrThrow } from './account-lookup.ts';
export { NAMING_HINT, NAMING_CONVENTIONS, ACCOUNT_NAME_MAX_LENGTH, validateAccountName, closestName } from './account-name.ts';
export { PLANS, findPlan, getPlan, nextPlanUp, type Plan } from './plans.ts';
export { DomainError, isDomainError, type ErrorCode } from './errors.ts';
export { authorize, can, allowedRoles, type Action } from './permissions.ts';
export type { Actor, Role, Source } from './actor.ts';
export type { DomainContext } from './context.ts';
export * from './model.ts';
export { EventBus, type DomainEvent, type EventSink, type EventType } from './events.ts';
export { monthKey, systemClock, DAY_MS, type Clock } from './clock.ts';
export * from './flags.ts';
export * from './flag-scans.ts';
export type { FlagAlert, FlagRepository, FlagState } from './flag-ports.ts';
