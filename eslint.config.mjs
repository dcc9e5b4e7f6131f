// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

/** What sits above the ports: adapters and pure modules must not import it. */
const upstream = [
  {
    group: ['**/activities', '**/activities/*', '**/workflows', '**/workflows/*', '**/cli/*'],
    message: 'Dependencies point one way: activities -> ports <- adapters (ssh/, yarn/, kubernetes/).',
  },
  { group: ['**/production-deps*', '**/worker', '**/worker.js'], message: 'Only the worker wires adapters.' },
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'eslint.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Plain-JS test doubles run outside TypeScript (fast to exec over SSH): no type-aware rules for them.
    files: ['**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false, program: null, project: false },
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        process: 'readonly',
        __dirname: 'readonly',
        SharedArrayBuffer: 'readonly',
        Atomics: 'readonly',
      },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({
              name,
              message: 'Workflow code must be deterministic: no Node built-ins.',
            })),
            { name: 'ssh2', message: 'SSH belongs in activities.' },
            { name: '@kubernetes/client-node', message: 'Kubernetes belongs in activities.' },
            { name: '@temporalio/activity', message: 'Import activity types with `import type`.' },
          ],
          patterns: [
            {
              group: ['**/activities/*', '**/activities'],
              allowTypeImports: true,
              message: 'Import activities with `import type`.',
            },
          ],
        },
      ],
    },
  },
  {
    // Dependencies point one way: activities -> ports <- adapters. Adapters, config and pure logic never reach
    // back into activities, workflows, the CLI or the composition root.
    files: ['src/ssh/**', 'src/yarn/**', 'src/kubernetes/**', 'src/config/**', 'src/ports.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: upstream }] },
  },
  {
    // Pure logic shared by everyone depends on nothing else in Kappa.
    files: ['src/common/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...upstream,
            {
              group: ['**/ssh/*', '**/yarn/*', '**/kubernetes/*', '**/config/*', '**/ports', '**/ports.js'],
              message: 'common/ holds pure logic: it imports nothing else from Kappa.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // node:test's test() and describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
    },
  },
);
