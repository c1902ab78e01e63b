// Layering is enforced here: data-plane libs (iSCSI, SCSI, storage, …) import only other data-plane libs and
// never NestJS, NATS, TypeORM or GraphQL; apps may use everything.
const nx = require('@nx/eslint-plugin');
const tseslint = require('typescript-eslint');

module.exports = [
  { ignores: ['**/dist/**', '**/node_modules/**', '.nx/**', '**/*.js', '**/*.d.ts', 'coverage/**'] },
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@nx': nx, '@typescript-eslint': tseslint.plugin },
    rules: {
      '@nx/enforce-module-boundaries': ['error', {
        enforceBuildableLibDependency: false,
        allow: [],
        depConstraints: [
          {
            sourceTag: 'scope:data-plane',
            onlyDependOnLibsWithTags: ['scope:data-plane'],
            bannedExternalImports: ['@nestjs/*', 'nats', 'typeorm', 'pg', '@apollo/*', 'graphql', 'graphql-ws', '@electric-sql/*'],
          },
          // scope:test-kit (libs/testing) is imported by specs only; it is not part of any build.
          { sourceTag: 'scope:control-plane', onlyDependOnLibsWithTags: ['scope:data-plane', 'scope:control-plane', 'scope:test-kit'] },
          { sourceTag: 'scope:app', onlyDependOnLibsWithTags: ['scope:data-plane', 'scope:control-plane', 'scope:test-kit'] },
          { sourceTag: 'scope:test-kit', onlyDependOnLibsWithTags: [] },
          { sourceTag: 'scope:test', onlyDependOnLibsWithTags: ['*'] },
        ],
      }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
];
