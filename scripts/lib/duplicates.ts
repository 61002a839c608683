// Which messages reached the sink more than once, and which of those SMTP itself explains. A worker SIGKILLed
// after the next hop's 250 and before it recorded the outcome sends the message again (RFC 1047): no relay can
// close that window, so a duplicate whose first copy was answered shortly before a worker's SIGKILL is not held
// against smtpdesk. Any other duplicate is a message it sent again although it knew it had been delivered.

export interface Duplicates {
  /** Message-ID and copies, for every Message-ID received more than once. */
  all: [string, number][];
  /** Those whose first copy was answered at most `windowMs` before a worker's SIGKILL. */
  inKillWindow: [string, number][];
}

/**
 * @param received Message-ID -> copies at the sink
 * @param firstAt Message-ID -> when the sink answered its first copy (epoch ms)
 * @param workerKills when a worker was SIGKILLed (epoch ms)
 */
export function findDuplicates(received: ReadonlyMap<string, number>, firstAt: ReadonlyMap<string, number>, workerKills: readonly number[], windowMs: number): Duplicates {
  const all = [...received.entries()].filter(([, n]) => n > 1);
  const inKillWindow = all.filter(([id]) => {
    const first = firstAt.get(id);
    return first !== undefined && workerKills.some((k) => first <= k && first >= k - windowMs);
  });
  return { all, inKillWindow };
}
