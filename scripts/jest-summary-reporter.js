// Writes each jest project's counts to .test-results/<project>.json; scripts/summarize-tests.js adds them up.
// Tests that call `skipWithReason` are marked pending ("skipped") by jest itself.
const fs = require('fs');
const path = require('path');

class SummaryReporter {
  constructor(_globalConfig, options) {
    this.project = options.project;
  }
  onRunComplete(_contexts, results) {
    const dir = path.join(__dirname, '..', '.test-results');
    fs.mkdirSync(dir, { recursive: true });
    const summary = {
      project: this.project,
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
      failures: [],
    };
    for (const file of results.testResults) {
      const where = path.relative(path.join(__dirname, '..'), file.testFilePath);
      if (file.testExecError) summary.failures.push(`${where}: ${String(file.testExecError.message).split('\n')[0]}`);
      for (const t of file.testResults) if (t.status === 'failed') summary.failures.push(`${where}: ${t.fullName}`);
    }
    fs.writeFileSync(path.join(dir, `${this.project}.json`), JSON.stringify(summary) + '\n');
  }
}
module.exports = SummaryReporter;
