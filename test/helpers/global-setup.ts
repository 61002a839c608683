// Starts one database server for the whole test run; each test file then
// works in its own freshly named database on it (see ./database.ts).
import type { TestProject } from 'vitest/node';
import { startEmbeddedDatabase } from '../../src/store/embedded/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoBaseUri: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const say = (line: string) => process.stderr.write(`[test-db] ${line}\n`);

  const fromEnv = process.env.MONGODB_URI;
  if (fromEnv) {
    say(`tests use MONGODB_URI (${redact(fromEnv)})`);
    project.provide('mongoBaseUri', fromEnv);
    return undefined;
  }

  const db = await startEmbeddedDatabase({ dataDir: null, log: say });
  say(`tests use ${db.description} at ${db.uri}`);
  project.provide('mongoBaseUri', db.uri);
  return async () => {
    await db.stop();
  };
}

function redact(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, '//***@');
}
