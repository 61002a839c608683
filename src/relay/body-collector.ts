// Collects a message body as DATA streams in, in bounded memory: up to the inline threshold it is kept to be
// stored inside the message document; past it, the body goes to the store in chunks while it arrives (the
// stream is paused while a chunk is written), so twenty 25 MB messages at once do not sit whole in memory.
import type { Readable } from 'node:stream';
import { CHUNK_SIZE } from '../store/queue/index.ts';
import { withDeadline } from './deadline.ts';

export interface CollectedBody {
  /** The whole body when it stayed under the threshold; null when it went to chunks. */
  inline: Buffer | null;
  chunks: number;
  /** Bytes of the body. */
  size: number;
  /** The first bytes (for the header summary). */
  start: Buffer;
}

export interface ChunkStore {
  writeChunk(messageId: string, n: number, data: Buffer): Promise<void>;
  discardChunks(messageId: string): Promise<void>;
}

const START_BYTES = 64 * 1024;

export class BodyCollector {
  private parts: Buffer[] = [];
  private buffered = 0;
  private size = 0;
  private chunks = 0;
  private spilled = false;
  private dropped = false;
  private writing: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private start: Buffer[] = [];
  private startBytes = 0;

  constructor(
    private readonly messageId: string,
    private readonly store: ChunkStore,
    private readonly stream: Readable,
    private readonly inlineMax: number,
    private readonly writeTimeoutMs: number,
  ) {}

  /** Keeps nothing more (oversized or malformed: the message will be refused). */
  drop(): void {
    this.dropped = true;
    this.parts = [];
    this.buffered = 0;
  }

  push(chunk: Buffer): void {
    if (this.dropped || this.failure) return;
    if (this.startBytes < START_BYTES) {
      this.start.push(chunk);
      this.startBytes += chunk.length;
    }
    this.parts.push(chunk);
    this.buffered += chunk.length;
    this.size += chunk.length;
    if (!this.spilled && this.size > this.inlineMax) this.spilled = true;
    if (this.spilled && this.buffered >= CHUNK_SIZE) this.writeBuffered();
  }

  private writeBuffered(): void {
    const data = Buffer.concat(this.parts, this.buffered);
    this.parts = [];
    this.buffered = 0;
    const n = this.chunks++;
    this.stream.pause();
    this.writing = this.writing
      .then(() => (this.failure ? undefined : withDeadline(this.store.writeChunk(this.messageId, n, data), this.writeTimeoutMs, 'write body chunk')))
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => this.stream.resume());
  }

  /** The body, once every chunk is written; throws the store's failure. */
  async end(): Promise<CollectedBody> {
    if (this.spilled && !this.dropped && this.buffered > 0) this.writeBuffered();
    await this.writing;
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows whatever the store rejected with, unchanged
    if (this.failure) throw this.failure;
    const start = Buffer.concat(this.start).subarray(0, START_BYTES);
    if (!this.spilled) return { inline: Buffer.concat(this.parts, this.buffered), chunks: 0, size: this.size, start };
    return { inline: null, chunks: this.chunks, size: this.size, start };
  }

  /** Removes chunks already written for a message that is not accepted (retention removes what this misses). */
  discard(): void {
    if (this.chunks > 0) void this.writing.then(() => this.store.discardChunks(this.messageId)).catch(() => undefined);
  }
}
