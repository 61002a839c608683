// docs/log-codes.md documents every stable log code (architecture: "log lines carry stable event codes that are
// documented"). This scans src/ and fails both ways: a code logged but not documented, a code documented but no
// longer logged, and a documented level that is not the one the code is logged at.
//
// What counts as a log code — the rule:
//   the `code` property at the top level of an object literal that is the FIRST argument of a call to a pino
//   level method (`.trace(` `.debug(` `.info(` `.warn(` `.error(` `.fatal(`), whatever the receiver (`log`,
//   `deps.log`, `rc.log`, `this.opts.log`, `opts.log?.`, a child logger): `log.warn({ code: 'X', … }, 'msg')`.
// That leaves out, by construction, the other `code:` literals in src/:
//   - domain and HTTP error codes (`new DomainError('ACCOUNT.NOT_FOUND', …)`, `{ error: { code: 'INTERNAL' } }`
//     in a response body, `describeFailure`'s `code: 'USAGE'`): not a log call's first argument;
//   - Node and transport error codes (`err.code === 'ENOENT'`, `Object.assign(err, { code: 'ETIMEDOUT' })`, the
//     delivery failures' `code: 'SMTP_4XX'`): same;
//   - codes nested inside a logged object (`err: { message, code: err.code }`): not top level;
//   - metric labels (`metrics.smtpMessages.inc({ code: '250' })`): `.inc` is not a level method;
//   - anything in a comment: the files are parsed with the TypeScript parser, not grepped, because a regex
//     cannot tell a top-level `code` from a nested one or from a comment.
// A code passed as a variable (`const code = a ? 'DELIVERY_DEFERRED' : 'DELIVERY_BOUNCED'; log.warn({ code, … })`)
// is read from the nearest declaration of that name above the call in the same file; the value must be made of
// literals only (a literal, or `?:` / `??` / `||` of literals). A code this cannot read (a parameter, a computed
// string) fails the test, as does one
// that is not UPPER_SNAKE (dotted domain codes belong in another field: `domainCode`, `error`). Keep log codes
// literal, so that `grep -rn CODE src` finds where a line comes from.
//
// The doc side: every table row of docs/log-codes.md whose first cell is one `UPPER_SNAKE` code in backticks;
// its second cell lists the level(s). The domain error table (dotted codes) does not match and is not read.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = join(ROOT, 'src');
const DOC = join(ROOT, 'docs/log-codes.md');

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
const LOG_CODE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;

interface Use {
  code: string;
  level: string;
  where: string;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The strings an expression can evaluate to, when it is made only of literals: `'A'`, `x ? 'A' : 'B'`, `y ?? 'A'`. */
function codeValues(node: ts.Expression, resolveName: (name: ts.Identifier) => ts.Expression | undefined): string[] | null {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [node.text];
  if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node)) return codeValues(node.expression, resolveName);
  const both = (a: ts.Expression, b: ts.Expression) => {
    const x = codeValues(a, resolveName);
    const y = codeValues(b, resolveName);
    return x && y ? [...x, ...y] : null;
  };
  if (ts.isConditionalExpression(node)) return both(node.whenTrue, node.whenFalse);
  if (ts.isBinaryExpression(node) && [ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.BarBarToken].includes(node.operatorToken.kind)) return both(node.left, node.right);
  if (ts.isIdentifier(node)) {
    const init = resolveName(node);
    return init ? codeValues(init, () => undefined) : null;
  }
  return null;
}

/** Every log code of one file, with its level; and the calls whose code could not be read. */
function scan(file: string): { uses: Use[]; problems: string[] } {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const rel = relative(ROOT, file);
  const at = (node: ts.Node) => `${rel}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;
  const declarations: ts.VariableDeclaration[] = [];
  const calls: { call: ts.CallExpression; level: string; code: ts.ObjectLiteralElementLike }[] = [];

  const visit = (node: ts.Node) => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) declarations.push(node);
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const level = node.expression.name.text;
      const first = node.arguments[0];
      if ((LEVELS as readonly string[]).includes(level) && first && ts.isObjectLiteralExpression(first)) {
        const code = first.properties.find((p) => p.name && ts.isIdentifier(p.name) && p.name.text === 'code');
        if (code) calls.push({ call: node, level, code });
      }
    }
    node.forEachChild(visit);
  };
  visit(source);

  const uses: Use[] = [];
  const problems: string[] = [];
  for (const { call, level, code } of calls) {
    const value = ts.isPropertyAssignment(code) ? code.initializer : ts.isShorthandPropertyAssignment(code) ? code.name : undefined;
    // A name is read from its nearest declaration above the call (one level: no chains of consts).
    const resolveName = (name: ts.Identifier) =>
      declarations.filter((d) => (d.name as ts.Identifier).text === name.text && d.getStart(source) < call.getStart(source)).at(-1)?.initializer;
    const literals = (value && codeValues(value, resolveName)) ?? [];
    if (literals.length === 0) problems.push(`${at(call)}: log code not readable (use a string literal, or a const of literals)`);
    for (const c of literals) {
      if (!LOG_CODE.test(c)) problems.push(`${at(call)}: log code "${c}" is not UPPER_SNAKE`);
      else uses.push({ code: c, level, where: at(call) });
    }
  }
  return { uses, problems };
}

/** code -> documented levels, from the tables of docs/log-codes.md. */
function documented(): Map<string, Set<string>> {
  const doc = new Map<string, Set<string>>();
  for (const line of readFileSync(DOC, 'utf8').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    // "| `CODE` | level | …": cells[0] is the empty text before the first pipe.
    const code = /^`([^`]+)`$/.exec(cells[1] ?? '')?.[1];
    if (cells[0] !== '' || !code || !LOG_CODE.test(code)) continue;
    const levels = (cells[2] ?? '').match(/\b(?:trace|debug|info|warn|error|fatal)\b/g) ?? [];
    doc.set(code, new Set(levels));
  }
  return doc;
}

describe('log codes', () => {
  const scanned = files(SRC).map(scan);
  const uses = scanned.flatMap((s) => s.uses);
  const inSource = new Map<string, Use[]>();
  for (const u of uses) inSource.set(u.code, [...(inSource.get(u.code) ?? []), u]);
  const doc = documented();

  it('finds log codes in src/ and can read every one', () => {
    expect(scanned.flatMap((s) => s.problems)).toEqual([]);
    // A broken scan would find nothing and pass the checks below.
    expect(inSource.size).toBeGreaterThan(50);
    expect(inSource.has('RELAY_AUTH_FAILED')).toBe(true);
    expect(inSource.has('DELIVERY_DEFERRED')).toBe(true); // built in a const, not written in the call
  });

  it('documents every code logged in src/ in docs/log-codes.md', () => {
    const missing = [...inSource.entries()].filter(([code]) => !doc.has(code)).map(([code, where]) => `${code} (${where.map((w) => w.where).join(', ')})`);
    expect(missing, 'add a row to docs/log-codes.md for each').toEqual([]);
  });

  it('documents no code that src/ no longer logs', () => {
    const stale = [...doc.keys()].filter((code) => !inSource.has(code));
    expect(stale, 'remove these rows from docs/log-codes.md').toEqual([]);
  });

  it('gives each code the level(s) it is logged at', () => {
    const wrong: string[] = [];
    for (const [code, where] of inSource) {
      const actual = [...new Set(where.map((u) => u.level))].sort();
      const listed = [...(doc.get(code) ?? [])].sort();
      if (doc.has(code) && actual.join(',') !== listed.join(',')) wrong.push(`${code}: logged at ${actual.join(', ')}; documented as ${listed.join(', ') || '(none)'}`);
    }
    expect(wrong).toEqual([]);
  });
});
