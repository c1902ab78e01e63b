// Specs run against the real Postgres (127.0.0.1:5432, database `test`) and NATS JetStream (127.0.0.1:4222), probed
// once with a bounded connect in the global setup; an unreachable one skips the specs that need it, with the reason.
module.exports = require('../../jest.preset.js')(__dirname, {
  globalSetup: '<rootDir>/jest.global-setup.ts',
  testTimeout: 60000,
});
