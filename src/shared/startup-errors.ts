// A port that cannot be bound is an operator's problem, not a bug: say which role, which address, why, and
// which variable moves it, in one line without a stack trace (src/main.ts prints a StartupError's message only).

/** A failure to start that the operator fixes through configuration; its message is the whole story. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** "127.0.0.1:2525", "[::1]:2525", or "*:2525" for every address (no host given). */
export function listenAddress(host: string | undefined, port: number): string {
  if (host === undefined) return `*:${port}`;
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function listenError(err: unknown, where: { role: string; host: string | undefined; port: number; portVariable: string; hostVariable?: string }): StartupError {
  const code = (err as { code?: string })?.code;
  const at = `${where.role} cannot listen on ${listenAddress(where.host, where.port)}`;
  const why =
    code === 'EADDRINUSE'
      ? `the port is already in use (another smtpdesk, or another server?). Stop it, or set ${where.portVariable} to a free port.`
      : code === 'EACCES'
        ? `permission denied (ports below 1024 need privileges: grant CAP_NET_BIND_SERVICE, or set ${where.portVariable} above 1023).`
        : code === 'EADDRNOTAVAIL'
          ? `no such address on this machine${where.hostVariable ? `; check ${where.hostVariable}` : ''}.`
          : ((err as Error)?.message ?? String(err));
  return new StartupError(`${at}: ${why}`, { cause: err });
}
