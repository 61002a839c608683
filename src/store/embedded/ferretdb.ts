// FerretDB as the embedded database (built and cached by ferretdb-build.ts, run by ferretdb-process.ts): the
// one `npm start` and the tests fall back to, and the dedicated one a fault test can stop, kill and restart.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureFerretDbBinary, FERRETDB_VERSION } from './ferretdb-build.ts';
import { FerretDbServer, removeOnExit, startFerretDbOnFreePort } from './ferretdb-process.ts';
import type { EmbeddedDatabase } from './embedded-database.ts';

export interface DedicatedFerretDb {
  uri: string;
  port: number;
  dataDir: string;
  /** Graceful stop (SIGTERM, then SIGKILL after a bound); data and port are kept for restart(). */
  stop(): Promise<void>;
  /** Starts again on the same port and data dir. */
  restart(): Promise<void>;
  /** SIGKILL, to simulate a crash; restart() works afterwards. */
  kill(): Promise<void>;
  /** Stops and removes the data dir if it was a temp dir this created. */
  dispose(): Promise<void>;
}

/** A FerretDB a fault test can stop and start again on the same port and data. */
export async function startDedicatedFerretDb(opts: { dataDir?: string; cacheDir?: string } = {}): Promise<DedicatedFerretDb> {
  const binary = await ensureFerretDbBinary(opts.cacheDir ? { cacheDir: opts.cacheDir } : {});
  const ownsDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'smtpdesk-ferretdb-')));
  if (ownsDataDir) removeOnExit.add(dataDir);
  await mkdir(dataDir, { recursive: true });

  const { server, port } = await startFerretDbOnFreePort(binary, dataDir);
  let current: FerretDbServer | null = server;
  const uri = `mongodb://127.0.0.1:${port}/`;

  return {
    uri,
    port,
    dataDir,
    async stop() {
      await current?.stop();
      current = null;
    },
    async restart() {
      await current?.stop();
      current = null;
      const next = new FerretDbServer(binary, dataDir, port);
      await next.start();
      current = next;
    },
    async kill() {
      await current?.kill();
      current = null;
    },
    async dispose() {
      await current?.stop();
      current = null;
      if (ownsDataDir) {
        await rm(dataDir, { recursive: true, force: true });
        removeOnExit.delete(dataDir);
      }
    },
  };
}

export async function startFerretDbDatabase(dataDir: string | null, log: (msg: string) => void, cacheDir?: string): Promise<EmbeddedDatabase> {
  const binary = await ensureFerretDbBinary({ onProgress: log, ...(cacheDir ? { cacheDir } : {}) });
  const dir = dataDir === null ? await mkdtemp(join(tmpdir(), 'smtpdesk-ferretdb-')) : join(dataDir, 'ferretdb');
  if (dataDir === null) removeOnExit.add(dir);
  await mkdir(dir, { recursive: true });
  try {
    const { server, port } = await startFerretDbOnFreePort(binary, dir);
    return {
      uri: `mongodb://127.0.0.1:${port}/`,
      kind: 'ferretdb',
      description: `FerretDB ${FERRETDB_VERSION} (SQLite), ${dataDir === null ? 'throwaway data' : `data in ${dir}`}`,
      stop: async () => {
        await server.stop();
        if (dataDir === null) {
          await rm(dir, { recursive: true, force: true });
          removeOnExit.delete(dir);
        }
      },
    };
  } catch (err) {
    if (dataDir === null) await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
