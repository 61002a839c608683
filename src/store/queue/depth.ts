// The number of queued messages (the smtpdesk_queue_depth gauge), counted at most a small share of the time.
// On FerretDB the count reads the whole queue, seconds on a long history: counts started on a timer (and per
// /metrics scrape) came faster than they ended, piled up behind each other past the driver's timeout, and took
// the database down with them (bench:drain stalled at 42,000 deliveries). So one count at a time, and the next
// only once the database has been free of it for `took ÷ share`.

export interface DepthSampler {
  /** A fresh count when one may run now (or the one under way), else the last count (null before the first). */
  sample(): Promise<number | null>;
}

export function depthSampler(count: () => Promise<number>, opts: { share?: number; now?: () => number } = {}): DepthSampler {
  const share = opts.share ?? 0.05;
  const now = opts.now ?? Date.now;
  let inFlight: Promise<number> | null = null;
  let last: number | null = null;
  let nextAt = 0;
  return {
    sample() {
      if (inFlight) return inFlight;
      if (now() < nextAt) return Promise.resolve(last);
      const started = now();
      const run = count().then((n) => (last = n));
      inFlight = run;
      const settle = () => {
        const ended = now();
        nextAt = ended + (ended - started) / share;
        inFlight = null;
      };
      run.then(settle, settle);
      return run;
    },
  };
}
