#!/usr/bin/env node
// `npm run bench` (= `node test/bench/bench-target.js`): runs bench-target.ts, Tandem vs tgt, through the repo's
// transpile-only TypeScript loader (see that file for what it measures and its options).
'use strict';
const path = require('path');

process.argv.splice(2, 0, path.join(__dirname, 'bench-target.ts'));
require('../../libs/event-store/src/testing/run-ts.js');
