// GET /healthz: the process is up and answering (liveness; never touches the database).
// GET /readyz: the database answers a ping and every role of this process has started and says it is
// serving (readiness; a load balancer sends traffic only when this answers 200).
import type { Runtime } from '../runtime.ts';
import { isConnected, pingServer } from '../store/connection.ts';
import type { Route } from './route.ts';

export interface ReadinessReport {
  /** True while main.ts is still starting roles. */
  starting: boolean;
  roles: { name: string; ready: boolean }[];
}

export type ReadinessProbe = () => ReadinessReport;

const PING_TIMEOUT_MS = 2_000;

export function healthRoutes(rt: Runtime, opts: { readiness?: ReadinessProbe | undefined }): Route[] {
  const startedAt = Date.now();
  return [
    {
      method: 'GET',
      path: '/healthz',
      async handle() {
        return { status: 200, json: { status: 'ok', uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) } };
      },
    },
    {
      method: 'GET',
      path: '/readyz',
      async handle() {
        const database = await pingDatabase(rt);
        const report = opts.readiness?.() ?? { starting: false, roles: [] };
        const roles = Object.fromEntries(report.roles.map((r) => [r.name, r.ready]));
        const problems: string[] = [];
        if (!database.ok) problems.push(`database: ${database.error}`);
        if (report.starting) problems.push('roles are still starting');
        for (const r of report.roles) if (!r.ready) problems.push(`${r.name} is not ready`);
        const checks = { database, roles };
        if (problems.length === 0) return { status: 200, json: { status: 'ready', checks } };
        return {
          status: 503,
          headers: { 'retry-after': '5' },
          json: { status: 'not_ready', error: { code: 'NOT_READY', message: `Not ready: ${problems.join('; ')}.` }, checks },
        };
      },
    },
  ];
}

async function pingDatabase(rt: Runtime): Promise<{ ok: true; ms: number } | { ok: false; error: string }> {
  const started = Date.now();
  if (!isConnected(rt.db)) return { ok: false, error: 'not connected' };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      pingServer(rt.db),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer to ping within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
      }),
    ]);
    return { ok: true, ms: Date.now() - started };
  } catch (err) {
    rt.log.warn({ code: 'READYZ_DATABASE_DOWN', err }, 'database ping failed');
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}
