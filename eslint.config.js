import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.cache/**', '.turbo/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', Buffer: 'readonly', URL: 'readonly', queueMicrotask: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'off',
    },
  },
  {
    // Type-aware rules on the published sources (tests and scripts stay on the syntactic set: the
    // type-checked run costs about a minute, and the sources are what users run).
    files: ['packages/*/src/**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Transport methods are async by contract (the interface returns promises) even where one
      // implementation has nothing to await; an async function also turns a throw into a rejection.
      '@typescript-eslint/require-await': 'off',
      // Passing a caught error on (typed unknown) is the point of many rejections here.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    // The conformance suite is test code: vitest's asymmetric matchers (expect.objectContaining, …) are typed any.
    files: ['packages/contract-tests/src/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    // Core never imports a broker client.
    files: ['packages/core/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['amqplib', 'kafkajs', '@platformatic/kafka', 'ioredis', '@nats-io/*', 'rhea', '@aws-sdk/*', 'pg', '@omnibus/amqp10', '@omnibus/sqs', '@omnibus/rabbitmq', '@omnibus/kafka', '@omnibus/redis', '@omnibus/nats'] }],
    },
  },
);
