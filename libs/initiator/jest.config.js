// forceExit: after multipathDevice.spec.ts (and only it) the jest worker stays alive in a native busy loop with no
// open handle reported (the time is all in clock_gettime via the vDSO); every test has passed by then. Until the cause
// is found (see the session note), jest is told to exit when the tests are done rather than wait forever.
module.exports = require('../../jest.preset.js')(__dirname, { forceExit: true });
