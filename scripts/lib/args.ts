// Command-line numbers for the benchmark scripts: a flag, else an environment variable, else a default.

/** A positive whole number from `--flag`, else `env`, else `dflt`; a clear error on anything else. */
export function positiveInt(flag: string | undefined, env: string | undefined, dflt: number): number {
  const n = Number(flag ?? env ?? dflt);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`not a positive number: ${flag ?? env}`);
  return Math.floor(n);
}
