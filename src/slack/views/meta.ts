// What a modal remembers between opening and submission (its private_metadata, max 3000 characters).
import type { ReplyTarget } from '../replies.ts';

export interface ModalMeta {
  /** Workspace id the modal was opened for. */
  w: string;
  /** Account name the modal is about. */
  n?: string;
  /** Where it was opened: a slash command in a channel, App Home, or a message button (alerts). */
  o: 'command' | 'home' | 'message';
  /** Channel of the request, for ephemeral answers. */
  ch?: string;
  /** The slash command's response_url. */
  ru?: string;
}

export function encodeMeta(meta: ModalMeta): string {
  const text = JSON.stringify(meta);
  // A response_url is long but optional: drop it rather than exceed Slack's limit.
  return text.length <= 3000 ? text : JSON.stringify({ ...meta, ru: undefined });
}

export function decodeMeta(text: string | undefined): ModalMeta {
  try {
    const v = JSON.parse(text ?? '') as Partial<ModalMeta>;
    if (typeof v.w === 'string' && (v.o === 'command' || v.o === 'home' || v.o === 'message')) {
      return { w: v.w, o: v.o, n: str(v.n), ch: str(v.ch), ru: str(v.ru) };
    }
  } catch {
    // fall through
  }
  return { w: '', o: 'message' };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v : undefined;
}

export function replyTargetOf(meta: ModalMeta, userId: string): ReplyTarget {
  return { userId, channelId: meta.ch, responseUrl: meta.ru };
}
