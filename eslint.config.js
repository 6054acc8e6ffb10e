import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Dependencies point one way: bridge/ and functions/ share contract/ and never import each
 * other; contract/ imports nothing else of the project; bench/ and scripts/ never import
 * test/. A relative import specifier that reaches a refused folder is an error
 * (test/repo/boundaries.test.ts shows each rule firing).
 */
const SHARED = 'what both need belongs in contract/, imported from contract/index.ts';
const boundary = ({ files, refused, why, ignores = [] }) => ({
  files: [`${files}/**`],
  ignores,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: refused.map((folder) => ({
          regex: `^(\\.{1,2}/)+${folder}(/|$)`,
          message: `${files}/ must not import ${folder}/: ${why}.`,
        })),
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['node_modules/', '.serverless/', '.esbuild/', '.fleet/', 'coverage/', '**/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      // One import style: types come in through their own `import type` line, never inline.
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportSpecifier[importKind='type']",
          message: "Import types with a separate `import type { ... }` line (the project's one import style).",
        },
      ],
      'no-console': 'off',
    },
  },
  {
    // CommonJS files a tool loads with require(): serverless.yml's ${file(...)}
    // (ops/cloudwatch/monitoring.cjs) and serverless-esbuild's plugins (functions/build/source-maps.cjs).
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', process: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  boundary({ files: 'bridge', refused: ['functions'], why: SHARED }),
  boundary({ files: 'functions', refused: ['bridge'], why: SHARED }),
  boundary({
    files: 'contract',
    refused: ['functions', 'bridge', 'scripts', 'test', 'bench'],
    why: 'every part of the project uses the contract, so it depends on none of them',
  }),
  boundary({ files: 'scripts', refused: ['test'], why: 'tests depend on the tools, not the other way round' }),
  boundary({
    files: 'bench',
    refused: ['test'],
    why: 'benchmarks depend on the tools, not on the tests',
  }),
);
