// What leaves smtpdesk is well formed whatever arrived: CRLF line endings everywhere (nodemailer's data
// stream then dot-stuffs lines that start with "." and ends DATA with CRLF.CRLF), and envelope addresses
// that cannot smuggle a second command or header into the conversation.

import { domainToASCII } from 'node:url';

const CR = 0x0d;
const LF = 0x0a;

/** Every bare LF and bare CR becomes CRLF; CRLF pairs are kept. Returns the same buffer when nothing changes. */
export function normalizeLineEndings(body: Buffer): Buffer {
  // Found with indexOf (native), so a well-formed message costs one look per line, not a JS step per byte.
  const bare: number[] = [];
  for (let i = body.indexOf(LF); i !== -1; i = body.indexOf(LF, i + 1)) if (i === 0 || body[i - 1] !== CR) bare.push(i);
  for (let i = body.indexOf(CR); i !== -1; i = body.indexOf(CR, i + 1)) if (body[i + 1] !== LF) bare.push(i);
  if (bare.length === 0) return body;
  bare.sort((a, b) => a - b);
  const out = Buffer.allocUnsafe(body.length + bare.length);
  let o = 0;
  let from = 0;
  for (const at of bare) {
    o += body.copy(out, o, from, at);
    out[o++] = CR;
    out[o++] = LF;
    from = at + 1;
  }
  o += body.copy(out, o, from);
  return out.subarray(0, o);
}

/** The domain as DNS and the outbound envelope know it: lower case, an internationalized one in punycode. */
export function domainOf(address: string): string {
  const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  return domainToASCII(domain) || domain;
}
