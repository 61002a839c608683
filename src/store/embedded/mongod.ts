// A real mongod through mongodb-memory-server, as a single-node replica set: the binary is found cheaply
// (MONGOMS_SYSTEM_BINARY, mongodb-memory-server's cache, PATH) or downloaded once, bounded in time.
import { access, constants, mkdir, readFile, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { DryMongoBinary, MongoBinary, MongoMemoryReplSet } from 'mongodb-memory-server';
import { StartupError } from '../../shared/startup-errors.ts';
import type { EmbeddedDatabase } from './embedded-database.ts';
import { freePort, isPortFree } from './ports.ts';
import { errorText, withTimeout } from './waits.ts';

const MONGOD_DOWNLOAD_PROBE_MS = 3_000;
const MONGOD_DOWNLOAD_MAX_MS = 5 * 60_000;
const REPLICA_SET_NAME = 'smtpdesk';

export interface MongodBinary {
  /** Passed to mongodb-memory-server when the binary was found outside its own lookup. */
  systemBinary?: string;
  source: string;
}

/** Only cheap checks, plus one download attempt that gives up within seconds when the mirror is unreachable. */
export async function findMongodBinary(log: (msg: string) => void): Promise<MongodBinary | null> {
  if (process.env.MONGOMS_SYSTEM_BINARY) return { source: 'MONGOMS_SYSTEM_BINARY' };

  const version = DryMongoBinary.getEnsuredOptions().version;
  try {
    if (await DryMongoBinary.locateBinary({ version })) return { source: `mongodb-memory-server cache, ${version}` };
  } catch {
    // An unrecognised OS and the like: the PATH lookup and download below still apply.
  }

  const onPath = await findOnPath('mongod');
  if (onPath) return { systemBinary: onPath, source: onPath };

  if (!envFlag(process.env.MONGOMS_RUNTIME_DOWNLOAD, true)) {
    log('embedded database: no mongod binary found and MONGOMS_RUNTIME_DOWNLOAD is off, using FerretDB');
    return null;
  }
  const mirror = process.env.MONGOMS_DOWNLOAD_URL ?? process.env.MONGOMS_DOWNLOAD_MIRROR ?? 'https://fastdl.mongodb.org';
  try {
    await fetch(mirror, { method: 'HEAD', signal: AbortSignal.timeout(MONGOD_DOWNLOAD_PROBE_MS) });
  } catch (err) {
    log(`embedded database: no mongod binary found and ${new URL(mirror).host} is unreachable (${causeText(err)}), using FerretDB`);
    return null;
  }
  log(`embedded database: downloading mongod ${version} (first run only)…`);
  try {
    // The bound keeps startup from hanging; an unfinished download carries on and is cached for next time.
    await withTimeout(MongoBinary.getPath({ version }), MONGOD_DOWNLOAD_MAX_MS, 'mongod download');
    return { source: `downloaded, ${version}` };
  } catch (err) {
    log(`embedded database: mongod download failed, using FerretDB: ${errorText(err)}`);
    return null;
  }
}

export async function startMongod(binary: MongodBinary, dataDir: string | null): Promise<EmbeddedDatabase> {
  const binaryOpts = binary.systemBinary ? { systemBinary: binary.systemBinary } : {};
  // A single-node replica set, so majority writes, transactions and change streams work as in production.
  if (dataDir === null) {
    const replSet = await MongoMemoryReplSet.create({
      binary: binaryOpts,
      replSet: { name: REPLICA_SET_NAME, count: 1 },
    });
    return {
      uri: replSet.getUri(),
      kind: 'mongod',
      description: `mongod (${binary.source}), throwaway data`,
      stop: async () => {
        await replSet.stop({ doCleanup: true, force: true });
      },
    };
  }

  const dbPath = join(dataDir, 'mongod');
  await mkdir(dbPath, { recursive: true });
  // The replica set config stored in dbPath names host:port, so the port must stay the same across restarts.
  const port = await stablePort(join(dataDir, 'mongod.port'));
  const replSet = await MongoMemoryReplSet.create({
    binary: binaryOpts,
    replSet: { name: REPLICA_SET_NAME, count: 1, storageEngine: 'wiredTiger' },
    instanceOpts: [{ dbPath, port, storageEngine: 'wiredTiger' }],
  });
  return {
    uri: replSet.getUri(),
    kind: 'mongod',
    description: `mongod (${binary.source}), data in ${dbPath}`,
    stop: async () => {
      await replSet.stop({ doCleanup: false });
    },
  };
}

async function stablePort(portFile: string): Promise<number> {
  const saved = Number((await readFile(portFile, 'utf8').catch(() => '')).trim());
  if (Number.isInteger(saved) && saved > 0) {
    if (!(await isPortFree(saved))) {
      throw new StartupError(`port ${saved} (recorded in ${portFile}) is in use; is another smtpdesk using this data dir?`);
    }
    return saved;
  }
  const port = await freePort();
  await writeFile(portFile, `${port}\n`);
  return port;
}

async function findOnPath(command: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

function envFlag(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  return ['1', 'true', 'yes', 'on'].includes(value.toLowerCase());
}

function causeText(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${MONGOD_DOWNLOAD_PROBE_MS / 1000} s`;
  return cause?.message ?? errorText(err);
}
