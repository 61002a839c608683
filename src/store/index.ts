// Builds the domain context from a database connection: the one place store and domain meet.
import type { DomainContext } from '../domain/context.ts';
import { systemClock, type Clock } from '../domain/clock.ts';
import { EventBus, type EventSink } from '../domain/events.ts';
import type { Database } from './connection.ts';
import { accountRepository } from './repositories/accounts.ts';
import { auditRepository } from './repositories/audit.ts';
import { createQueue, type Queue } from './queue/index.ts';
import { rateWindowRepository } from './repositories/rate-windows.ts';
import { accountHourRepository } from './repositories/account-hours.ts';
import { usageRepository } from './repositories/usage.ts';
import { workspaceRepository } from './repositories/workspaces.ts';
import { sendingDomainRepository } from './repositories/sending-domains.ts';
import { suppressionRepository } from './repositories/suppressions.ts';
import { lockoutRepository } from './repositories/lockouts.ts';
import { accountRequestRepository } from './repositories/account-requests.ts';
import { messageSearch } from './queue/find.ts';
import type { SecretBox } from '../domain/secret-box.ts';

export function createDomainContext(
  db: Database,
  opts: { bcryptCost: number; idleAfterDays?: number; clock?: Clock; events?: EventSink; queue?: Queue; secrets?: SecretBox },
): DomainContext {
  return {
    workspaces: workspaceRepository(db.models),
    accounts: accountRepository(db.models),
    usage: usageRepository(db.models),
    queue: opts.queue ?? createQueue(db.models),
    audit: auditRepository(db.models),
    rateWindows: rateWindowRepository(db.models),
    accountHours: accountHourRepository(db.models),
    domains: sendingDomainRepository(db.models),
    suppressions: suppressionRepository(db.models),
    accountRequests: accountRequestRepository(db.models),
    messageSearch: messageSearch(db.models),
    ...(opts.secrets ? { secrets: opts.secrets } : {}),
    events: opts.events ?? new EventBus(),
    holdNetworkRefusalAlerts: (accountId, until) => lockoutRepository(db.models).holdUntil('network', accountId, until, new Date()),
    clock: opts.clock ?? systemClock,
    bcryptCost: opts.bcryptCost,
    idleAfterDays: opts.idleAfterDays ?? 60,
  };
}
