// Lint: typescript-eslint's recommended type-checked rules over every
// TypeScript file the project typechecks (tsconfig.json). Where a rule does
// not fit this code it is turned off or down here, with the reason, rather
// than by comments in the code.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // demo/kernels/assembly is AssemblyScript (compiled by asc, not by tsc).
  { ignores: ['dist/', 'node_modules/', 'bench/results/', 'test-results/', 'demo/kernels/assembly/', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    // tests/unit/clone-check.test.ts keeps a directive for a core rule
    // (no-sparse-arrays) of @eslint/js, which is not installed: not an error.
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    rules: {
      // node:test's test() and hooks return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      // Interfaces here declare callbacks in method syntax (`close(): Promise<void>`)
      // and implement them with closures that never use `this`: the rule would
      // flag each hand-over of one.
      '@typescript-eslint/unbound-method': 'off',
      // A Future fails, like a promise, with whatever its task threw, and a
      // task may throw any value (tests/fixtures/values.ts does, on purpose).
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      // Async iterators' return() and async interface methods are async by
      // contract, with or without an await inside.
      '@typescript-eslint/require-await': 'off',
      // Error messages quote the caller's bad value as String() prints it, whatever it is.
      '@typescript-eslint/no-base-to-string': 'off',
      // Express tells error handlers by their four parameters; `_` marks one
      // that must be there, and a rest sibling is how an object drops a key.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // `let grid` in connect() is read by callbacks before its one assignment.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // The runtime's offload host is an object of getters over the runtime's fields.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['runtime'] }],
    },
  },
  {
    // It throws values that are not Errors, to test how they travel.
    files: ['tests/fixtures/values.ts'],
    rules: { '@typescript-eslint/only-throw-error': 'off' },
  },
  {
    // It calls eval and new Function in a task to show the CSP refuses them.
    files: ['tests/e2e/wasm.test.ts'],
    rules: { '@typescript-eslint/no-implied-eval': 'off', '@typescript-eslint/no-unsafe-call': 'off' },
  },
  {
    // The reference is how `declare module '*.wasm'` reaches the published
    // ladle-grid/task types: an import would not be kept in the .d.ts.
    files: ['browser-worker/task-api.ts'],
    rules: { '@typescript-eslint/triple-slash-reference': 'off' },
  },
);
