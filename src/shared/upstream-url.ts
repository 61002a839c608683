// RELAY_UPSTREAM_URL, read without loading any SMTP code (the configuration checks it at start).

export interface UpstreamTarget {
  secure: boolean;
  host: string;
  port: number;
  auth?: { user: string; pass: string };
}

/** smtp://user:pass@host:port (STARTTLS when offered) or smtps://… (implicit TLS). Throws on anything else. */
export function parseUpstreamUrl(url: string): UpstreamTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('RELAY_UPSTREAM_URL: not a URL (expected smtp://user:pass@host:587 or smtps://user:pass@host:465)');
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') throw new Error('RELAY_UPSTREAM_URL: the scheme must be smtp:// or smtps://');
  if (!u.hostname) throw new Error('RELAY_UPSTREAM_URL: no host');
  const secure = u.protocol === 'smtps:';
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const target: UpstreamTarget = { secure, host, port: u.port ? Number(u.port) : secure ? 465 : 587 };
  if (u.username) {
    try {
      target.auth = { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) };
    } catch {
      throw new Error('RELAY_UPSTREAM_URL: the user or password is not valid percent-encoding (encode @ : / % as %40 %3A %2F %25)');
    }
  }
  return target;
}

/** The URL without its password, for logs and the start-up line. */
export function describeUpstream(url: string): string {
  const t = parseUpstreamUrl(url);
  return `${t.secure ? 'smtps' : 'smtp'}://${t.auth ? `${encodeURIComponent(t.auth.user)}@` : ''}${t.host}:${t.port}`;
}
