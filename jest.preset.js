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
  // A floor, not a speed goal: a test that passes idle must not fail because the 2 cores are busy (jest's 5 s default
  // did, CI on a loaded machine). Specs doing heavy I/O or starting processes set their own, larger, limit.
  testTimeout: 60_000,
  reporters: ['default', [path.join(__dirname, 'scripts/jest-summary-reporter.js'), { project: path.basename(projectDir) }]],
  ...overrides,
});
