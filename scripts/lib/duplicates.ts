// Which messages reached the sink more than once, and which of those SMTP itself explains. A worker SIGKILLed
// after the next hop's 250 and before it recorded the outcome sends the message again (RFC 1047): no relay can
// close that window. So a duplicate whose first copy was answered before a worker's SIGKILL and whose next copy
// came after it (the killed worker delivered it and died before recording that) is not held against smtpdesk.
// The same holds when the next hop stops right after answering (the worker never reads the 250): the soak counts
// those stops with the kills. Any other duplicate, both copies on the same side of every kill, is a message sent
// again by a live worker.

/**
 * The sink may answer a message whose DATA the killed worker had sent in full just before the SIGKILL: its 250
 * comes a moment after the kill was taken, and nobody hears it.
 */
export const KILL_SETTLE_MS = 1000;

export interface Duplicates {
  /** Message-ID and copies, for every Message-ID received more than once. */
  all: [string, number][];
  /** Those whose copies straddle a worker's SIGKILL. */
  acrossKill: [string, number][];
}

/**
 * @param received Message-ID -> copies at the sink
 * @param firstAt Message-ID -> when the sink answered its first copy (epoch ms)
 * @param lastAt Message-ID -> when the sink answered its latest copy (epoch ms)
 * @param workerKills when a worker was SIGKILLed, or the next hop stopped (epoch ms)
 */
export function findDuplicates(
  received: ReadonlyMap<string, number>,
  firstAt: ReadonlyMap<string, number>,
  lastAt: ReadonlyMap<string, number>,
  workerKills: readonly number[],
): Duplicates {
  const all = [...received.entries()].filter(([, n]) => n > 1);
  const acrossKill = all.filter(([id]) => {
    const first = firstAt.get(id);
    const last = lastAt.get(id);
    return first !== undefined && last !== undefined && workerKills.some((k) => first <= k + KILL_SETTLE_MS && k + KILL_SETTLE_MS < last);
  });
  return { all, acrossKill };
}
