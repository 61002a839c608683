// The batches this process owns, held by one heartbeat: every third of the lease, one command extends the
// lease of all of them. While a batch is held, no other process's recovery touches it.
import type { LedgerBatches } from './batches.ts';

export function batchHoldings(batches: LedgerBatches, leaseMs: number, leaseEnd: () => Date) {
  const held = new Set<string>();
  let heartbeat: NodeJS.Timeout | null = null;
  const beat = () => {
    if (held.size === 0) {
      clearInterval(heartbeat!);
      heartbeat = null;
      return;
    }
    void batches.renew([...held], leaseEnd()).catch(() => undefined);
  };
  return {
    hold(id: string): void {
      held.add(id);
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
