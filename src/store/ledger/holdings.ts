// The batches this process owns, held by one heartbeat: every third of the lease, one command extends the
// lease of all of them. While a batch is held, no other process's recovery touches it. A batch held longer
// than a few leases (its owner keeps failing to finish it) is let go: recovery then finishes it.
import type { LedgerBatches } from './batches.ts';

export function batchHoldings(batches: LedgerBatches, leaseMs: number, leaseEnd: () => Date) {
  const held = new Map<string, number>();
  const maxHoldMs = 5 * leaseMs;
  let heartbeat: NodeJS.Timeout | null = null;
  const beat = () => {
    const now = Date.now();
    for (const [id, since] of held) if (now - since > maxHoldMs) held.delete(id);
    if (held.size === 0) {
      clearInterval(heartbeat!);
      heartbeat = null;
      return;
    }
    void batches.renew([...held.keys()], leaseEnd()).catch(() => undefined);
  };
  return {
    hold(id: string): void {
      if (!held.has(id)) held.set(id, Date.now());
      heartbeat ??= setInterval(beat, Math.max(50, leaseMs / 3));
      heartbeat.unref();
    },
    letGo(id: string): void {
      held.delete(id);
    },
    stop(): void {
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = null;
    },
  };
}

export type BatchHoldings = ReturnType<typeof batchHoldings>;
