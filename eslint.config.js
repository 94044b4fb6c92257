import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'cdktf.out/', '**/dist/', '.cache/', '.gen/', 'clients/python/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-console': 'off',
      // The provider barrel loads every AWS resource class: ten times the memory and time of a deep import.
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@cdktf/provider-aws',
              message: 'import resources by deep path, e.g. @cdktf/provider-aws/lib/instance',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests read loosely typed JSON bodies; asserting each shape with types would only restate the assertions.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
