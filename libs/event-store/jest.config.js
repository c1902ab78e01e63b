// Specs run once per database target: the real Postgres (127.0.0.1:5432, database `test`) and PGlite served over
// the wire protocol, started once here for the whole run. A target that cannot be reached is skipped with a reason.
module.exports = require('../../jest.preset.js')(__dirname, {
  globalSetup: '<rootDir>/jest.global-setup.ts',
  globalTeardown: '<rootDir>/jest.global-teardown.ts',
});
