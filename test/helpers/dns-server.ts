// A tiny authoritative DNS server on 127.0.0.1 (UDP, ephemeral port) that answers TXT queries from a map the
// test fills, and NXDOMAIN for anything else: what `smtpdesk domains verify` sees when a record is (or is not)
// published, with DKIM_VERIFY_DNS_SERVERS pointing at it.
import { createSocket } from 'node:dgram';

export interface TestDnsServer {
  /** "127.0.0.1:PORT", for DKIM_VERIFY_DNS_SERVERS. */
  address: string;
  /** name (lower case, no trailing dot) -> TXT records, each as its character-strings. */
  txt: Map<string, string[][]>;
  close(): Promise<void>;
}

function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let i = offset;
  while (msg[i]! !== 0) {
    const len = msg[i]!;
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('latin1'));
    i += len + 1;
  }
  return { name: labels.join('.').toLowerCase(), end: i + 1 };
}

export async function startTestDnsServer(): Promise<TestDnsServer> {
  const txt = new Map<string, string[][]>();
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 12) return;
    const { name, end } = readName(msg, 12);
    const qtype = msg.readUInt16BE(end);
    const question = msg.subarray(12, end + 4);
    const records = qtype === 16 ? (txt.get(name) ?? []) : [];
    const answers = records.map((strings) => {
      const rdata = Buffer.concat(strings.map((s) => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)])));
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      rr.writeUInt16BE(16, 2); // TXT
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(rdata.length, 10);
      return Buffer.concat([rr, rdata]);
    });
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0);
    // QR, AA, RD copied; RCODE 3 (NXDOMAIN) when the name has nothing at all.
    const nx = !txt.has(name);
    header.writeUInt16BE(0x8400 | (msg.readUInt16BE(2) & 0x0100) | (nx ? 3 : 0), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    socket.send(Buffer.concat([header, question, ...answers]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const { port } = socket.address();
  return { address: `127.0.0.1:${port}`, txt, close: () => new Promise<void>((r) => socket.close(() => r())) };
}
