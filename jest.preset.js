// One jest set-up for every project: ts-jest transpiles per file (tsc -b type-checks), workspace aliases map to sources,
// and a reporter leaves a JSON summary so scripts/test.sh can print one "N passed, N failed, N skipped" line.
const path = require('path');
module.exports = (projectDir, overrides = {}) => ({
  rootDir: projectDir,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(__dirname, 'tsconfig.spec.json') }],
  },
  moduleNameMapper: { '^@tandem/([a-z-]+)$': path.join(__dirname, 'libs/$1/src/index.ts') },
  reporters: ['default', [path.join(__dirname, 'scripts/jest-summary-reporter.js'), { project: path.basename(projectDir) }]],
  ...overrides,
});
