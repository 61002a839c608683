// Captures a logger's JSON lines in memory, so tests can assert on codes and search for leaked secrets.
import { Writable } from 'node:stream';

export interface LogLine {
  level: number;
  code?: string;
  msg?: string;
  [k: string]: unknown;
}

export interface CapturedLogs {
  /** Give this to createLogger({ destination }). */
  stream: Writable;
  /** Parsed lines (a line that is not JSON is kept as { level: 0, msg }). */
  lines: LogLine[];
  /** Everything written, verbatim. */
  raw: () => string;
}

export function captureLogs(): CapturedLogs {
  const lines: LogLine[] = [];
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      const text = chunk.toString();
      chunks.push(text);
      for (const line of text.split('\n').filter(Boolean)) {
        try {
          lines.push(JSON.parse(line) as LogLine);
        } catch {
          lines.push({ level: 0, msg: line });
        }
      }
      cb();
    },
  });
  return { stream, lines, raw: () => chunks.join('') };
}
