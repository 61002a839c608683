// Two things smtp-server does not let a handler decide, fixed per connection as it is created (the
// server's public `connections.add`), never by patching smtp-server's prototypes:
//
// 1. Strict base64 in AUTH (RFC 4954 section 4: a response that is not valid base64 gets 501 5.5.2).
//    smtp-server decodes with Buffer.from(…, 'base64'), which skips characters outside the alphabet: a
//    password with junk mixed in ("c2Vj!!cmV0") decoded to the right one and authenticated.
// 2. An enhanced status code chosen by the reply (550 5.7.1 for a sender policy, 451 4.7.1 for a rate
//    limit): smtp-server derives it from the reply code alone (550 -> 5.1.1). A reply whose text starts with
//    an enhanced code of its own class ("5.7.1 …", see smtpError's `enhanced`) is sent with that one.
//
// smtp-server has no public hook for either: onAuth only sees the username and password already decoded (junk
// and all), and no option sees a reply before it is sent. So this wraps two of the connection's internals,
// `_onCommand` and `send`, and reads the SASL step from `_nextHandler`'s name. package.json pins smtp-server to
// an exact version, and test/relay/smtp-server-contract.test.ts fails when an upgrade moves any of them.
import type { SMTPServer } from 'smtp-server';

type Connection = SMTPServer['connections'] extends Set<infer C> ? C : never;

/** The parts of smtp-server's connection this touches (not in its public types). */
interface ConnectionInternals {
  _onCommand(command: Buffer, callback?: () => void): void;
  _nextHandler: false | ((...args: unknown[]) => void);
  _upgrading?: boolean;
  _whenWritable?(next: () => void): void;
  send(code: number, data?: string | string[], context?: string | false): void;
  secure: boolean;
  session: { user?: unknown };
}

/** RFC 4648 base64, padded; "=" alone is RFC 4954's empty initial response. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const EXPLICIT_ENHANCED = /^([245])\.\d{1,3}\.\d{1,3} /;
/** The SASL steps of PLAIN and LOGIN whose input is base64 (smtp-server binds them, hence "bound …"). */
const BASE64_STEPS = new Set(['bound PLAIN_token', 'bound LOGIN_username', 'bound LOGIN_password']);

export function isStrictBase64(text: string): boolean {
  return text === '=' || BASE64.test(text);
}

export interface ConnectionHookOptions {
  allowInsecureAuth: boolean;
  onBadBase64(session: unknown): void;
}

export function hookConnections(server: SMTPServer, opts: ConnectionHookOptions): void {
  const connections = server.connections;
  const add = connections.add.bind(connections);
  connections.add = (c: Connection) => {
    hookConnection(c as unknown as ConnectionInternals, opts);
    return add(c);
  };
}

function hookConnection(c: ConnectionInternals, opts: ConnectionHookOptions): void {
  const send = c.send.bind(c);
  c.send = (code, data, context) => {
    const explicit = typeof data === 'string' && context === undefined ? EXPLICIT_ENHANCED.exec(data) : null;
    if (explicit && explicit[1] === String(code)[0]) return send(code, data, false);
    return send(code, data, context);
  };

  const onCommand = c._onCommand.bind(c);
  c._onCommand = (command, callback) => {
    const token = base64Input(c, command, opts.allowInsecureAuth);
    if (token === null || token === '' || token === '*' || isStrictBase64(token)) return onCommand(command, callback);
    c._nextHandler = false; // the exchange is over, as for any other 501
    opts.onBadBase64(c.session);
    c.send(501, '5.5.2 Invalid base64 in the authentication exchange');
    const next = callback ?? (() => undefined);
    setImmediate(() => (c._whenWritable ? c._whenWritable(next) : next()));
  };
}

/** The base64 text of an AUTH PLAIN/LOGIN line or continuation line, or null when the line is anything else. */
function base64Input(c: ConnectionInternals, command: Buffer, allowInsecureAuth: boolean): string | null {
  if (c._upgrading) return null;
  const line = (command ?? '').toString().trim();
  if (c._nextHandler) return BASE64_STEPS.has(c._nextHandler.name) ? line : null;
  const parts = line.split(/\s+/);
  if (parts[0]?.toUpperCase() !== 'AUTH' || parts.length !== 3) return null;
  if (!['PLAIN', 'LOGIN'].includes(parts[1]!.toUpperCase())) return null;
  // Left to smtp-server (538, 503) when it would refuse AUTH anyway.
  if ((!c.secure && !allowInsecureAuth) || c.session.user) return null;
  return parts[2]!;
}
