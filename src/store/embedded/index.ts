// The database `npm start` and the tests use when MONGODB_URI is not set:
// a real mongod through mongodb-memory-server when its binary can be had, else
// FerretDB (MongoDB wire protocol on SQLite) built from source by Go.
//
// mongod.ts starts mongod, ferretdb.ts FerretDB (ferretdb-build.ts builds and caches its binary,
// ferretdb-process.ts runs and watches the process); this module picks the engine.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startFerretDbDatabase } from './ferretdb.ts';
import { findMongodBinary, startMongod } from './mongod.ts';
import type { EmbeddedDatabase } from './embedded-database.ts';
import { errorText } from './waits.ts';

export type { EmbeddedDatabase } from './embedded-database.ts';
export { startDedicatedFerretDb, type DedicatedFerretDb } from './ferretdb.ts';
export { cachedFerretDbBinary, defaultCacheDir, ensureFerretDbBinary, FERRETDB_VERSION, type EnsureFerretDbBinaryOptions } from './ferretdb-build.ts';

export interface StartEmbeddedDatabaseOptions {
  /** Where data is kept across restarts; null = a throwaway temp dir removed by stop(). */
  dataDir: string | null;
  log?: (msg: string) => void;
  /** Try a real mongod first (default true). */
  tryMongod?: boolean;
  /** Where the FerretDB binary is cached; see ensureFerretDbBinary. */
  cacheDir?: string;
}

export async function startEmbeddedDatabase(opts: StartEmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const log = opts.log ?? ((msg: string) => process.stderr.write(`${msg}\n`));
  const dataDir = opts.dataDir;

  if (opts.tryMongod !== false) {
    const mongodDataExists = dataDir !== null && hasFiles(join(dataDir, 'mongod'));
    if (dataDir !== null && hasFiles(join(dataDir, 'ferretdb'), '.sqlite') && !mongodDataExists) {
      // Switching engines would show an empty database; keep using the one that has the data.
      log(`embedded database: ${join(dataDir, 'ferretdb')} holds FerretDB data, so FerretDB is used, not mongod`);
    } else {
      const binary = await findMongodBinary(log);
      if (binary) {
        try {
          return await startMongod(binary, dataDir);
        } catch (err) {
          if (mongodDataExists) {
            throw new Error(`mongod could not start on its existing data in ${join(dataDir, 'mongod')}: ${errorText(err)}`);
          }
          log(`embedded database: mongod (${binary.source}) failed to start, using FerretDB instead: ${errorText(err)}`);
        }
      } else if (mongodDataExists) {
        log(`embedded database: ${join(dataDir, 'mongod')} holds mongod data but no mongod binary is available; FerretDB starts with separate, empty data`);
      }
    }
  }
  return startFerretDbDatabase(dataDir, log, opts.cacheDir);
}

function hasFiles(dir: string, suffix = ''): boolean {
  try {
    return existsSync(dir) && readdirSync(dir).some((name) => name.endsWith(suffix));
  } catch {
    return false;
  }
}
