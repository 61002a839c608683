// Plans are data: a monthly email quota and a number of account slots, ordered from small to large.
import { DomainError } from './errors.ts';

export interface Plan {
  id: string;
  monthlyEmails: number;
  accountSlots: number;
}

export const PLANS: readonly Plan[] = [
  { id: '10k', monthlyEmails: 10_000, accountSlots: 5 },
  { id: '20k', monthlyEmails: 20_000, accountSlots: 10 },
  { id: '50k', monthlyEmails: 50_000, accountSlots: 25 },
  { id: '100k', monthlyEmails: 100_000, accountSlots: 50 },
];

export function findPlan(id: string): Plan | undefined {
  return PLANS.find((p) => p.id === id.trim().toLowerCase());
}

export function getPlan(id: string): Plan {
  const plan = findPlan(id);
  if (!plan) {
    throw new DomainError('PLAN.NOT_FOUND', `Unknown plan "${id}". Plans: ${PLANS.map((p) => p.id).join(', ')}.`, {
      plans: PLANS.map((p) => p.id),
    });
  }
  return plan;
}

/** The next larger plan, or undefined when this is the largest. */
export function nextPlanUp(id: string): Plan | undefined {
  const i = PLANS.findIndex((p) => p.id === id);
  return i >= 0 ? PLANS[i + 1] : undefined;
}
