// Checks a message as it streams in, without holding more than a line's state: every line must end with
// CRLF (a bare LF or CR is how SMTP smuggling hides a second message; we refuse the whole message rather
// than guess where it ends) and be at most 998 characters long (RFC 5322 2.1.1).
//
// smtp-server ends DATA only on <CRLF>.<CRLF>, so <LF>.<LF>, <LF>.<CRLF> and <CR>.<CR> never end a message
// early: they stay inside it, and this scanner refuses them. It also unstuffs a dot after a bare LF, which
// would change the message; refusing every bare LF covers that too.
//
// A NUL byte is refused the same way (RFC 5322 2.3 and RFC 5321 4.1.1.4 forbid it in a message): receivers
// truncate at it or drop it, so what they show differs from what was checked and stored.
import { headerFields, headerSummary as summarize, type HeaderSummary } from '../shared/mail-headers.ts';

export type { HeaderSummary };
export type BodyProblem = 'bare_lf' | 'bare_cr' | 'nul' | 'line_too_long';

const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;
export const MAX_LINE_LENGTH = 998;

export class MessageScanner {
  problem: BodyProblem | null = null;
  private lineLength = 0;
  private pendingCR = false;

  push(chunk: Buffer): void {
    if (this.problem || chunk.length === 0) return;
    if (chunk.indexOf(NUL) !== -1) return this.fail('nul');
    let pos = 0;
    if (this.pendingCR) {
      this.pendingCR = false;
      if (chunk[0] !== LF) return this.fail('bare_cr');
      this.lineLength = 0;
      pos = 1;
    }
    const len = chunk.length;
    while (pos < len) {
      const lf = chunk.indexOf(LF, pos);
      if (lf === -1) {
        const cr = chunk.indexOf(CR, pos);
        if (cr !== -1 && cr < len - 1) return this.fail('bare_cr');
        this.pendingCR = chunk[len - 1] === CR;
        this.lineLength += len - pos - (this.pendingCR ? 1 : 0);
        if (this.lineLength > MAX_LINE_LENGTH) return this.fail('line_too_long');
        return;
      }
      if (lf === pos || chunk[lf - 1] !== CR) return this.fail('bare_lf');
      // There is a CR at lf - 1, so this finds one at or before it; any earlier CR is bare.
      if (chunk.indexOf(CR, pos) < lf - 1) return this.fail('bare_cr');
      this.lineLength += lf - 1 - pos;
      if (this.lineLength > MAX_LINE_LENGTH) return this.fail('line_too_long');
      this.lineLength = 0;
      pos = lf + 1;
    }
  }

  /** Call once the stream has ended. */
  end(): BodyProblem | null {
    if (!this.problem && this.pendingCR) this.problem = 'bare_cr';
    return this.problem;
  }

  private fail(p: BodyProblem): void {
    this.problem = p;
  }
}

/** Message-ID, Subject and whether there is a Date, from the header block (read by shared/mail-headers.ts). */
export function headerSummary(body: Buffer): HeaderSummary {
  return summarize(headerFields(body));
}
