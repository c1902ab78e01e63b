// The test kit shared by the apps' and libs' specs and the black-box tests in test/: free ports, child processes
// with deadlines, the repository's paths, an HA pair of `tandem serve` nodes, polling for a condition (until,
// eventually), reading /metrics, and an independent raw iSCSI initiator.
export * from './eventually';
export * from './haPair';
export * from './ports';
export * from './process';
export * from './prometheus';
export * from './rawIscsi';
export * from './repo';
export * from './until';
