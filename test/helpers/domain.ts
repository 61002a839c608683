// A real domain context on a fresh test database, with a controllable clock and recorded events.
import { connectDatabase, type Database } from '../../src/store/connection.ts';
import { createDomainContext } from '../../src/store/index.ts';
import { EventBus, type Actor, type DomainContext, type DomainEvent, createWorkspace, type Workspace } from '../../src/domain/index.ts';
import { dropTestDatabase, testDatabaseUri } from './database.ts';

export interface TestDomain {
  uri: string;
  db: Database;
  ctx: DomainContext;
  events: DomainEvent[];
  /** Sets the clock; every later use case sees this time. */
  setNow(d: Date | string): void;
  now(): Date;
  close(): Promise<void>;
}

export const admin: Actor = { source: 'cli', id: 'tester', name: 'tester (cli)', roles: ['admin'] };
export const responder: Actor = { source: 'slack', id: 'U_RESPONDER', name: 'responder', roles: ['responder'] };
export const member: Actor = { source: 'slack', id: 'U_MEMBER', name: 'member', roles: [] };

export async function openTestDomain(opts: { bcryptCost?: number } = {}): Promise<TestDomain> {
  const uri = testDatabaseUri();
  const db = await connectDatabase(uri);
  let now = new Date('2026-11-15T12:00:00Z');
  const events: DomainEvent[] = [];
  const bus = new EventBus();
  bus.subscribe({ publish: (e) => void events.push(e) });
  const ctx = createDomainContext(db, { bcryptCost: opts.bcryptCost ?? 4, clock: () => new Date(now), events: bus });
  return {
    uri,
    db,
    ctx,
    events,
    setNow: (d) => {
      now = new Date(d);
    },
    now: () => new Date(now),
    async close() {
      await db.close();
      await dropTestDatabase(uri);
    },
  };
}

let counter = 0;
export async function newWorkspace(t: TestDomain, planId = '10k'): Promise<Workspace> {
  counter += 1;
  return createWorkspace(t.ctx, admin, { name: `ws-${counter}-${Math.random().toString(36).slice(2, 8)}`, planId, defaultPlan: '10k' });
}
