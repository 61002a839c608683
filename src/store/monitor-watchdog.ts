// The driver's server monitor can die silently (driver 6.20, seen after a database SIGKILL or restart under
// load): when a connection's socket closes in the moment a heartbeat starts on it, the heartbeat waits for a
// 'drain' event that never comes. The monitor then never checks the server again, the server stays "Unknown",
// and every command fails server selection until the process restarts (the hang-db soak lost its worker that
// way for 3 minutes; a default soak, its relay for 25 s until the next fault restarted it).
//
// The watchdog follows the heartbeats and the server descriptions through the driver's public events. A
// heartbeat is stuck when it runs past the longest it can legitimately take (heartbeatBoundMs), or sooner, when
// it has run `fastMs` (10 s) while the server has been "Unknown" as long: the stuck monitor's server is always
// unknown (a command's network error marked it so), and a live monitor rechecks an unknown server every half
// second. The client is then closed and connected again, which starts a new monitor; models and collections stay
// bound to the same client. The early rule can also fire on a heartbeat that is only slow (a connect hanging for
// more than 10 s on a server already unknown): nothing gets through then either, and the reopen costs nothing.
import type { mongo } from 'mongoose';

/** Heartbeats started and not yet ended, and servers described "Unknown", by address; pure, for table tests. */
export class HeartbeatBook {
  private readonly running = new Map<string, number>();
  private readonly unknownSince = new Map<string, number>();

  started(address: string, at: number): void {
    if (!this.running.has(address)) this.running.set(address, at);
  }

  ended(address: string): void {
    this.running.delete(address);
  }

  described(address: string, type: string, at: number): void {
    if (type !== 'Unknown') this.unknownSince.delete(address);
    else if (!this.unknownSince.has(address)) this.unknownSince.set(address, at);
  }

  /** How long the oldest heartbeat still running has run at `now` (0 when none runs). */
  longestRunning(now: number): number {
    let longest = 0;
    for (const at of this.running.values()) longest = Math.max(longest, now - at);
    return longest;
  }

  /** A heartbeat past `boundMs`, or past `fastMs` on a server "Unknown" for `fastMs` too: how long it ran, or 0. */
  stuck(now: number, boundMs: number, fastMs: number): number {
    for (const [address, at] of this.running) {
      const ran = now - at;
      const unknown = this.unknownSince.get(address);
      if (ran > boundMs || (ran > fastMs && unknown !== undefined && now - unknown > fastMs)) return ran;
    }
    return 0;
  }

  clear(): void {
    this.running.clear();
    this.unknownSince.clear();
  }
}

export interface MonitorWatchdogOptions {
  /** A heartbeat running longer than this is stuck. */
  boundMs: number;
  /** A heartbeat running this long on a server "Unknown" this long is stuck (default 10 s). */
  fastMs?: number;
  /** How often to look (default 1 s). */
  everyMs?: number;
  now?: () => number;
  /** Told before the client is reopened, with how long the heartbeat had run. */
  onStuck?: (runningMs: number) => void;
  onReopened?: () => void;
  onError?: (err: unknown) => void;
}

/**
 * The bound for a client's heartbeats: the longest one can legitimately take (a new monitor connection: its
 * connect within connectTimeoutMS, its handshake within socketTimeoutMS; an awaited hello: heartbeatFrequencyMS
 * more), plus a margin. A socketTimeoutMS of 0 (none) counts as connectTimeoutMS.
 */
export function heartbeatBoundMs(o: { heartbeatFrequencyMS: number; connectTimeoutMS: number; socketTimeoutMS?: number }): number {
  return o.heartbeatFrequencyMS + o.connectTimeoutMS + (o.socketTimeoutMS || o.connectTimeoutMS) + 10_000;
}

/** Watches `client`'s heartbeats and reopens it when one is stuck; returns the stop function. */
export function watchMonitor(client: mongo.MongoClient, opts: MonitorWatchdogOptions): () => void {
  const now = opts.now ?? Date.now;
  const fastMs = opts.fastMs ?? 10_000;
  const book = new HeartbeatBook();
  let reopening = false;
  // A reopen that failed (the database away as well) left the client without a monitor: try again.
  let mustReopen = false;
  const onStarted = (e: { connectionId: string }) => book.started(e.connectionId, now());
  const onEnded = (e: { connectionId: string }) => book.ended(e.connectionId);
  const onDescribed = (e: { address: string; newDescription: { type: string } }) => book.described(e.address, e.newDescription.type, now());
  client.on('serverHeartbeatStarted', onStarted);
  client.on('serverHeartbeatSucceeded', onEnded);
  client.on('serverHeartbeatFailed', onEnded);
  client.on('serverDescriptionChanged', onDescribed);

  const look = () => {
    if (reopening) return;
    const ran = book.stuck(now(), opts.boundMs, fastMs);
    if (!mustReopen && ran === 0) return;
    if (!mustReopen) opts.onStuck?.(ran);
    reopening = true;
    book.clear();
    void (async () => {
      await client.close();
      await client.connect();
    })()
      .then(
        () => {
          mustReopen = false;
          opts.onReopened?.();
        },
        (err: unknown) => {
          mustReopen = true;
          opts.onError?.(err);
        },
      )
      .finally(() => {
        reopening = false;
      });
  };
  const timer = setInterval(look, opts.everyMs ?? 1_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    client.off('serverHeartbeatStarted', onStarted);
    client.off('serverHeartbeatSucceeded', onEnded);
    client.off('serverHeartbeatFailed', onEnded);
    client.off('serverDescriptionChanged', onDescribed);
  };
}
