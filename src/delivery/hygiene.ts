// What leaves smtpdesk is well formed whatever arrived: CRLF line endings everywhere (nodemailer's data
// stream then dot-stuffs lines that start with "." and ends DATA with CRLF.CRLF), and envelope addresses
// that cannot smuggle a second command or header into the conversation.

import { domainToASCII } from 'node:url';

const CR = 0x0d;
const LF = 0x0a;

/** Every bare LF and bare CR becomes CRLF; CRLF pairs are kept. Returns the same buffer when nothing changes. */
export function normalizeLineEndings(body: Buffer): Buffer {
  let bare = 0;
  for (let i = 0; i < body.length; i++) {
    const b = body[i];
    if (b === LF && (i === 0 || body[i - 1] !== CR)) bare++;
    else if (b === CR && body[i + 1] !== LF) bare++;
  }
  if (bare === 0) return body;
  const out = Buffer.allocUnsafe(body.length + bare);
  let o = 0;
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    if (b === LF && (i === 0 || body[i - 1] !== CR)) {
      out[o++] = CR;
      out[o++] = LF;
    } else if (b === CR && body[i + 1] !== LF) {
      out[o++] = CR;
      out[o++] = LF;
    } else {
      out[o++] = b;
    }
  }
  return out.subarray(0, o);
}

/** The domain as DNS and the outbound envelope know it: lower case, an internationalized one in punycode. */
export function domainOf(address: string): string {
  const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  return domainToASCII(domain) || domain;
}
