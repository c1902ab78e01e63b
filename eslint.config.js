// Layering is enforced here: data-plane libs (iSCSI, SCSI, storage, …) import only other data-plane libs and
// never NestJS, NATS, TypeORM or GraphQL; apps may use everything.
const nx = require('@nx/eslint-plugin');
const tseslint = require('typescript-eslint');

// The test kit (libs/testing, scope:test-kit) is for specs only: a spec or spec helper of any project may import
// it, no other source file may, and the kit itself depends on no project.
const SPEC_FILES = ['**/*.spec.ts', '**/*.spec-helper.ts'];
function moduleBoundaries(inSpec) {
  const kit = inSpec ? ['scope:test-kit'] : [];
  return ['error', {
    enforceBuildableLibDependency: false,
    allow: [],
    depConstraints: [
      {
        sourceTag: 'scope:data-plane',
        onlyDependOnLibsWithTags: ['scope:data-plane', ...kit],
        bannedExternalImports: ['@nestjs/*', 'nats', 'typeorm', 'pg', '@apollo/*', 'graphql', 'graphql-ws', '@electric-sql/*'],
      },
      { sourceTag: 'scope:control-plane', onlyDependOnLibsWithTags: ['scope:data-plane', 'scope:control-plane', ...kit] },
      { sourceTag: 'scope:app', onlyDependOnLibsWithTags: ['scope:data-plane', 'scope:control-plane', ...kit] },
      { sourceTag: 'scope:test-kit', onlyDependOnLibsWithTags: [] },
      { sourceTag: 'scope:test', onlyDependOnLibsWithTags: ['*'] },
    ],
  }];
}

module.exports = [
  { ignores: ['**/dist/**', '**/node_modules/**', '.nx/**', '**/*.js', '**/*.d.ts', 'coverage/**'] },
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@nx': nx, '@typescript-eslint': tseslint.plugin },
    rules: {
      '@nx/enforce-module-boundaries': moduleBoundaries(false),
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  { files: SPEC_FILES, rules: { '@nx/enforce-module-boundaries': moduleBoundaries(true) } },
];
