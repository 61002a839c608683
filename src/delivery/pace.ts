// How many deliveries a worker starts per second lately: an exponentially weighted mean (half-life a few
// seconds), brought up to date when read. It sizes the due claims of a backlog (claimer.ts): a worker takes
// about what its slots will start in the next seconds, not more; what it holds beyond that another worker could
// be delivering.
export class Pace {
  private count = 0;
  private since: number;
  private rate = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly halfLifeMs = 5_000,
  ) {
    this.since = now();
  }

  started(n = 1): void {
    this.count += n;
  }

  perSecond(): number {
    const t = this.now();
    const dt = t - this.since;
    if (dt >= 200) {
      const lately = (this.count * 1000) / dt;
      this.rate += (lately - this.rate) * (1 - 0.5 ** (dt / this.halfLifeMs));
      this.count = 0;
      this.since = t;
    }
    return this.rate;
  }
}
