// The processes `npm start` runs keep V8's heap in proportion to what is live from their first collection:
// V8's own factor is up to 4 until it has measured the program (the relay held 140 MB for its first minute
// with 45 MB live, bench:drain). V8 prints the factor it applies with --trace-gc-verbose.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

/** The factors V8 applied to the old generation's limit in a process that imports `module` and collects once. */
function appliedFactors(module: string | null, nodeFlags: string[] = []): string[] {
  const script = `${module ? `await import(${JSON.stringify(join(ROOT, module))});` : ''}
    const live = Array.from({ length: 200_000 }, (_, i) => ({ i, s: 'x' + i }));
    globalThis.gc();
    process.stdout.write(String(live.length));`;
  const r = spawnSync(process.execPath, ['--trace-gc-verbose', '--expose-gc', ...nodeFlags, '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  expect(r.status, r.stderr).toBe(0);
  // "[HeapController] Limit: old size: 19568 KB, new limit: 43868 KB (1.3)"
  return [...r.stdout.matchAll(/\[HeapController\] Limit: .*\((\d+(?:\.\d+)?)\)$/gm)].map((m) => m[1]!);
}

it('the entry point fixes the growing factor at 1.3 before the heap grows; a --heap-growing-percent given to node wins', () => {
  const plain = appliedFactors(null);
  expect(plain.length).toBeGreaterThan(0);
  // Without it V8 starts near its own maximum (4.0 here), which is what made the early high.
  expect(Number(plain[plain.length - 1])).toBeGreaterThan(2);

  const entry = appliedFactors('src/main.ts');
  expect(entry.length).toBeGreaterThan(0);
  // Every limit set after the entry point's imports ran: the collection the script forces is the last.
  expect(entry[entry.length - 1]).toBe('1.3');

  const chosen = appliedFactors('src/main.ts', ['--heap-growing-percent=60']);
  expect(chosen[chosen.length - 1]).toBe('1.6');
});
