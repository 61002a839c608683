// The domain knows nothing of Slack, SMTP, HTTP or mongoose; adapters depend on the domain, not on each other's
// internals. This reads every import in src/ and fails on a dependency that breaks the layering.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    found.push((m[1] ?? m[2])!);
  }
  return found;
}

const ADAPTERS = ['relay', 'delivery', 'slack', 'jobs', 'http', 'cli', 'outbound-webhooks'];
const FORBIDDEN_IN_DOMAIN = [/^mongoose$/, /^mongodb$/, /^@slack\//, /^smtp-server$/, /^nodemailer$/, /^node:http/, /^node:net$/, /^node-cron$/, /^pino$/];

describe('layering', () => {
  const all = files(SRC);

  it('the domain imports no adapter, store or framework', () => {
    const problems: string[] = [];
    for (const f of all.filter((f) => relative(SRC, f).startsWith('domain/'))) {
      for (const spec of imports(f)) {
        if (FORBIDDEN_IN_DOMAIN.some((re) => re.test(spec))) problems.push(`${relative(SRC, f)} imports ${spec}`);
        if (spec.startsWith('.')) {
          const target = relative(SRC, resolve(dirname(f), spec));
          if (!target.startsWith('domain/')) problems.push(`${relative(SRC, f)} imports ${target}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('the store does not import adapters', () => {
    const problems: string[] = [];
    for (const f of all.filter((f) => relative(SRC, f).startsWith('store/'))) {
      for (const spec of imports(f).filter((s) => s.startsWith('.'))) {
        const top = relative(SRC, resolve(dirname(f), spec)).split('/')[0]!;
        if (ADAPTERS.includes(top)) problems.push(`${relative(SRC, f)} imports ${spec}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
