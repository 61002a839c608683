// Layer rules for smtpdesk, checked by `npm run lint:layers` (one domain, thin adapters around it).
//
//   src/domain      rules and use cases: imports nothing outside itself
//   src/store       mongoose connection, models, repositories, queue, counters
//   adapters        src/relay, src/delivery, src/slack, src/cli, src/http, src/jobs, src/outbound-webhooks
//   composition     src/main.ts, src/roles.ts, src/app-runtime.ts (shared by main.ts and the CLI) wire adapters together
//
// Type-only imports count (tsPreCompilationDeps): a type is still a dependency a reader has to follow.

const ADAPTERS = '(relay|delivery|slack|cli|http|jobs|outbound-webhooks|bounces)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-imports-only-domain',
      severity: 'error',
      comment:
        'The domain knows nothing of Slack, SMTP, HTTP, mongoose or the rest of src/: adapters depend on it, never the reverse. ' +
        'Exception: a few pure libraries the rules are written with (crypto, url, util, zlib for the CRC32 of passwords; bcrypt for password hashes; ipaddr.js for allowed networks).',
      from: { path: '^src/domain/' },
      to: {
        pathNot: ['^src/domain/', '^(node:)?(crypto|url|util|zlib)$', '(^|/)node_modules/(bcrypt|ipaddr[.]js)/'],
      },
    },
    {
      name: 'models-only-through-the-store',
      severity: 'error',
      comment:
        'Only the store (its repositories, queue and counters, and its connection) touches mongoose models; ' +
        'everything else asks a repository, so that every query and its index live in one place.',
      from: { path: '^(src|scripts)/', pathNot: '^src/store/' },
      to: { path: '^src/store/models/' },
    },
    {
      name: 'no-adapter-imports-another-adapter',
      severity: 'error',
      comment:
        'Adapters are driven by the composition root and drive the domain; one adapter never reaches into another. ' +
        'What two adapters share belongs in the domain, the store or src/shared; cross-adapter wiring belongs in the composition root.',
      from: { path: `^src/${ADAPTERS}/` },
      to: { path: `^src/${ADAPTERS}/`, pathNot: '^src/$1/' },
    },
    {
      name: 'only-the-composition-root-wires-adapters',
      severity: 'error',
      comment:
        'Outside the adapters themselves, only main.ts, roles.ts and app-runtime.ts (the composition root) may import an adapter: ' +
        'config, runtime, log, metrics and src/shared are used by every adapter and must stay free of them.',
      from: { path: ['^src/[^/]+[.]ts$', '^src/shared/'], pathNot: '^src/(main|roles|app-runtime)[.]ts$' },
      to: { path: `^src/${ADAPTERS}/` },
    },
    {
      name: 'store-imports-no-adapter',
      severity: 'error',
      comment: 'The store serves every adapter and so cannot depend on any of them.',
      from: { path: '^src/store/' },
      to: { path: `^src/${ADAPTERS}/` },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles, type-only ones included: a back-reference for a type means the type sits in the wrong module.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-test-code-in-production',
      severity: 'error',
      comment: 'src/ and scripts/ never import test/: what a script shares with the tests lives in scripts/lib or src.',
      from: { path: '^(src|scripts)/' },
      to: { path: '^test/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
