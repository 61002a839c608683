// ESLint flat config: typescript-eslint's type-checked rules over src/, scripts/ and test/ (and the few .js files);
// formatting is Prettier's alone (eslint-config-prettier, last, turns off every rule that would disagree with it).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['node_modules/', '.cache/', 'data/', 'dist/', 'coverage/'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Fields are dropped by rest destructuring (`const { passwordHash: _, ...account } = doc`): the named sibling is unused on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // Async functions without await implement Promise-returning interfaces (routes, stubs, role starters); dropping `async` would turn their throws into sync throws.
      '@typescript-eslint/require-await': 'off',
      // Our wrappers put the caught error's message into their own on purpose; a `cause` as well would make pino's err serializer print that message twice.
      'preserve-caught-error': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read the JSON bodies of the server under test as `any` and vitest types asymmetric matchers (expect.stringMatching(...)) as `any`.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      // Expected output is matched as written, two-space column gaps included; ` {2}` would make the pattern harder to read against the text.
      'no-regex-spaces': 'off',
    },
  },
  {
    files: ['**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { process: 'readonly' } },
  },
  prettier,
);
