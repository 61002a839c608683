// The driver's server monitor can die silently (driver 6.20, seen after a database SIGKILL under load): when a
// connection's socket closes in the moment a heartbeat starts on it, the heartbeat waits for a 'drain' event
// that never comes. The monitor then never checks the server again, the server stays "Unknown", and every
// command fails server selection until the process restarts (the hang-db soak lost its worker that way).
//
// The watchdog follows the heartbeats through the driver's public events. A heartbeat has a bound (its
// socket timeout: connectTimeoutMS, plus heartbeatFrequencyMS for an awaited one); one running far past it is
// stuck, and the client is closed and connected again, which starts a new monitor. Models and collections
// stay bound to the same client, so nothing else has to change.
import type { mongo } from 'mongoose';

/** Heartbeats started and not yet ended, by server address; pure, for table tests. */
export class HeartbeatBook {
  private readonly running = new Map<string, number>();

  started(address: string, at: number): void {
    if (!this.running.has(address)) this.running.set(address, at);
  }

  ended(address: string): void {
    this.running.delete(address);
  }

  /** How long the oldest heartbeat still running has run at `now` (0 when none runs). */
  longestRunning(now: number): number {
    let longest = 0;
    for (const at of this.running.values()) longest = Math.max(longest, now - at);
    return longest;
  }

  clear(): void {
    this.running.clear();
  }
}

export interface MonitorWatchdogOptions {
  /** A heartbeat running longer than this is stuck. */
  boundMs: number;
  /** How often to look (default a fifth of the bound, at least 1 s). */
  everyMs?: number;
  now?: () => number;
  /** Told before the client is reopened, with how long the heartbeat had run. */
  onStuck?: (runningMs: number) => void;
  onReopened?: () => void;
  onError?: (err: unknown) => void;
}

/** The bound for a client's heartbeats: the longest one can legitimately take, plus a margin. */
export function heartbeatBoundMs(o: { heartbeatFrequencyMS: number; connectTimeoutMS: number }): number {
  return o.heartbeatFrequencyMS + o.connectTimeoutMS + 10_000;
}

/** Watches `client`'s heartbeats and reopens it when one is stuck; returns the stop function. */
export function watchMonitor(client: mongo.MongoClient, opts: MonitorWatchdogOptions): () => void {
  const now = opts.now ?? Date.now;
  const book = new HeartbeatBook();
  let reopening = false;
  // A reopen that failed (the database away as well) left the client without a monitor: try again.
  let mustReopen = false;
  const onStarted = (e: { connectionId: string }) => book.started(e.connectionId, now());
  const onEnded = (e: { connectionId: string }) => book.ended(e.connectionId);
  client.on('serverHeartbeatStarted', onStarted);
  client.on('serverHeartbeatSucceeded', onEnded);
  client.on('serverHeartbeatFailed', onEnded);

  const look = () => {
    if (reopening) return;
    const running = book.longestRunning(now());
    if (!mustReopen && running <= opts.boundMs) return;
    if (!mustReopen) opts.onStuck?.(running);
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
  const timer = setInterval(look, opts.everyMs ?? Math.max(1_000, opts.boundMs / 5));
  timer.unref();
  return () => {
    clearInterval(timer);
    client.off('serverHeartbeatStarted', onStarted);
    client.off('serverHeartbeatSucceeded', onEnded);
    client.off('serverHeartbeatFailed', onEnded);
  };
}
