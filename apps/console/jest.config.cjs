// The console's unit specs (pure TypeScript: formatting, routes); the pages are tested in a real browser by test/e2e/console.e2e.test.ts.
module.exports = require('../../jest.preset.js')(__dirname, { testMatch: ['<rootDir>/src/**/*.spec.ts'] });
