// The envelope(s) the worker sends a message with. With RETURN_PATH_DOMAIN set, each recipient of an
// application's message gets its own transaction, from its own signed return path (src/shared/return-path.ts),
// so that a bounce or complaint arriving later names exactly one recipient of one message. Without it, one
// transaction from the application's own sender, as always. Our own bounce notices (kind 'bounce') and
// null-sender messages keep their sender: nothing may bounce back to them.
import type { Config } from '../config.ts';
import { encodeReturnPath } from '../shared/return-path.ts';
import type { OutboundEnvelope, RecipientResult, Transport } from './transport.ts';

export interface ReturnPathSettings {
  domain: string;
  key: Buffer;
}

export function returnPathSettings(config: Pick<Config, 'bounces'>): ReturnPathSettings | undefined {
  const { returnPathDomain, returnPathKey } = config.bounces;
  return returnPathDomain && returnPathKey ? { domain: returnPathDomain, key: returnPathKey } : undefined;
}

export function outboundEnvelopes(
  message: { id: string; from: string; kind: 'message' | 'bounce'; recipients: readonly { address: string }[] },
  sendable: readonly string[],
  returnPath: ReturnPathSettings | undefined,
): OutboundEnvelope[] {
  if (!sendable.length) return [];
  if (!returnPath || message.kind !== 'message' || message.from === '') return [{ from: message.from, to: [...sendable] }];
  return sendable.map((address) => {
    const recipient = message.recipients.findIndex((r) => r.address === address);
    if (recipient < 0) return { from: message.from, to: [address] };
    return { from: encodeReturnPath(returnPath.key, returnPath.domain, { queueId: message.id, recipient }), to: [address] };
  });
}

/** Sends each envelope (in parallel: the transport pools its connections); every recipient's answer. */
export async function sendEnvelopes(transport: Transport, envelopes: readonly OutboundEnvelope[], raw: Buffer): Promise<RecipientResult[]> {
  if (envelopes.length === 1) return transport.send(envelopes[0]!, raw);
  return (await Promise.all(envelopes.map((e) => transport.send(e, raw)))).flat();
}
