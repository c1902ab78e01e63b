// The test kit shared by the apps' and libs' specs and the black-box tests in test/: free ports, polling for a
// condition, reading /metrics.
export * from './eventually';
export * from './ports';
export * from './prometheus';
