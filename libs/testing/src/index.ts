// The test kit shared by the apps' specs and the black-box tests in test/: polling for a condition, reading /metrics.
export * from './eventually';
export * from './prometheus';
