// Specs run against the real Postgres and NATS JetStream, probed once by the orchestrator's global setup; an
// unreachable one skips the specs that need it, with the reason.
const path = require('path');
const preset = require('../../jest.preset.js')(__dirname);
module.exports = {
  ...preset,
  globalSetup: path.join(__dirname, '../orchestrator/jest.global-setup.ts'),
  testTimeout: 60000,
  moduleNameMapper: {
    '^@tandem/orchestrator/testing$': path.join(__dirname, '../orchestrator/src/testing/infrastructure.ts'),
    '^@tandem/orchestrator$': path.join(__dirname, '../orchestrator/src/index.ts'),
    ...preset.moduleNameMapper,
  },
};
