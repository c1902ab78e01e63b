#!/usr/bin/env node
'use strict';
// The `tandem` command. It runs the compiled CLI; `npm ci` (prepare) or `npm run build` produces it.
const path = require('path');
const fs = require('fs');
const main = path.join(__dirname, '..', 'dist', 'main.js');
if (!fs.existsSync(main)) {
  console.error('tandem: not built yet — run `npm ci` (or `npm run build`) in the Tandem checkout first');
  process.exit(2);
}
require(main).main(process.argv).catch((err) => {
  console.error(`tandem: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
