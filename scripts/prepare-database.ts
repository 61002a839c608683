// `npm run db:prepare`: builds and caches the FerretDB binary ahead of time
// (CI runs it before the tests so the first test hook is not the one to wait).
import { ensureFerretDbBinary } from '../src/store/embedded/index.ts';

const startedAt = Date.now();
try {
  const binary = await ensureFerretDbBinary({ onProgress: (line) => console.log(line) });
  console.log(`FerretDB ready: ${binary} (${((Date.now() - startedAt) / 1000).toFixed(1)} s)`);
} catch (err) {
  console.error(`db:prepare failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
