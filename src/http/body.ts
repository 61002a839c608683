// Reads a request body up to a limit and a deadline. Reading stops at the limit: an oversized body is
// never buffered whole, and the connection is closed after the 413 so the rest is not read either.
import type { IncomingMessage } from 'node:http';
import { HttpError } from './errors.ts';

export async function readBody(req: IncomingMessage, opts: { limit: number; deadline: number }): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > opts.limit) throw tooLarge(opts.limit);

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (err: Error | null, body?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (err) {
        // Stop reading what is left; the answer goes out with Connection: close.
        req.pause();
        reject(err);
      } else resolve(body!);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > opts.limit) return finish(tooLarge(opts.limit));
      chunks.push(chunk);
    };
    const onEnd = () => finish(null, Buffer.concat(chunks, size));
    const onError = (err: Error) => finish(err);
    const onAborted = () => finish(new Error('request aborted'));
    const timer = setTimeout(
      () => finish(new HttpError('HTTP.TIMEOUT', 'The request body did not arrive in time.', {}, { connection: 'close' })),
      Math.max(0, opts.deadline - Date.now()),
    );
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

function tooLarge(limit: number): HttpError {
  return new HttpError('HTTP.BODY_TOO_LARGE', `The request body is larger than ${limit} bytes.`, { limit }, { connection: 'close' });
}
