// Lint rules that catch real bugs: floating promises above all (a chunk write whose failure nobody awaits loses data).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'web/dist/**', 'test/artifacts/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    // The web app's React files (web/tsconfig.json): the same type-aware rules as the .ts files.
    files: ['web/**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    files: ['scripts/**', 'bench/**', 'bin/**', 'test/**', '**/*.test.ts', 'api/main.ts', 'internal/**/*cli.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // The transports (api/) and the CLI reach a service only through its public surface,
    // internal/<service>/index.ts, so a service can rearrange its files without breaking them.
    // A service may also have internal/<service>/shared.ts: the pure rules and limits its clients
    // apply too (content hash, name keys, upload limits), without I/O; the CLI imports that one,
    // because index.ts builds the service and loading it costs a CLI command ~2 s (ORM, S3 SDKs).
    // internal/platform is not a service but the infrastructure every layer shares (AppError,
    // logger, config, KV, rpc client, request context); it has no single facade to hide behind,
    // and one index.ts re-exporting all of it would only hide where things live — so its files are
    // imported directly. internal/entities.ts (the ORM's entity list) is that kind of file too.
    files: ['api/**/*.ts', 'cli/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          regex: String.raw`(^|/)internal/(?!platform/)[^/]+/(?!(index|shared)\.ts$).+`,
          message: 'Import a service through its internal/<service>/index.ts (or its pure shared.ts); export what you need there.',
        }],
      }],
      // The same rule for import('…') (lazily loaded commands), which no-restricted-imports does not see.
      'no-restricted-syntax': ['error', {
        selector: String.raw`ImportExpression[source.value=/(^|\/)internal\/(?!platform\/)[^\/]+\/(?!(index|shared)\.ts$).+/]`,
        message: 'Import a service through its internal/<service>/index.ts (or its pure shared.ts); export what you need there.',
      }],
    },
  },
  {
    // A size budget, so that a function stays readable at one screen: at most 80 lines of code
    // (blank lines and comments not counted) and a cyclomatic complexity of 15.
    files: ['api/**/*.ts', 'internal/**/*.ts', 'cli/**/*.ts', 'operator/**/*.ts', 'web/src/**/*.ts', 'web/src/**/*.tsx'],
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
      complexity: ['error', 15],
    },
  },
  {
    // React function components: their markup is JSX, one element or attribute per line, so the
    // same logic takes about half again as many lines as plain TypeScript. Budget 120 lines for a
    // component (the complexity budget is the same: branching logic belongs in hooks/helpers).
    files: ['web/src/**/*.tsx'],
    rules: { 'max-lines-per-function': ['error', { max: 120, skipBlankLines: true, skipComments: true }] },
  },
  {
    // Tests and the shared contract suites are exempt: a describe block is a list of cases.
    files: ['**/*.test.ts', '**/*.test.tsx', '**/*.contract.ts'],
    rules: { 'max-lines-per-function': 'off', complexity: 'off' },
  },
);
