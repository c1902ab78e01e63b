// Black-box tests start real processes (the target, libiscsi tools, qemu-img), so they run one file at a time.
module.exports = require('../jest.preset.js')(__dirname, {
  testTimeout: 20 * 60 * 1000,
  maxWorkers: 1,
});
