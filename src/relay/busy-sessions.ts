// Which sessions have one of the relay's handlers running (AUTH's bcrypt, MAIL FROM's account check, RCPT TO,
// DATA until its answer). Shutdown tells idle sessions 421 at once and leaves these to finish: known from our own
// handlers, so the relay need not read smtp-server's private `_handlerPending` or `_dataStream`.
import type { SMTPServerSession } from 'smtp-server';

type Handler<T, C> = (arg: T, session: SMTPServerSession, callback: C) => void;

export class BusySessions {
  private readonly running = new Map<string, number>();

  has(sessionId: string): boolean {
    return this.running.has(sessionId);
  }

  /** The handler, counted as running from its call until its callback. */
  track<T, C extends (...args: never[]) => void>(handler: Handler<T, C>): Handler<T, C> {
    return (arg, session, callback) => {
      const id = session.id;
      this.running.set(id, (this.running.get(id) ?? 0) + 1);
      let answered = false;
      const answer = ((...result: Parameters<C>) => {
        if (!answered) {
          answered = true;
          const left = (this.running.get(id) ?? 1) - 1;
          if (left > 0) this.running.set(id, left);
          else this.running.delete(id);
        }
        callback(...result);
      }) as C;
      handler(arg, session, answer);
    };
  }
}
