#!/usr/bin/env node
// Runs a TypeScript file of this repo in plain Node (outside jest's VM, where PGlite's WASM loader cannot run):
// `node run-ts.js file.ts [args]`. Transpile only; `tsc -b` does the type checking.
const fs = require('fs');
const path = require('path');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, experimentalDecorators: true, emitDecoratorMetadata: true },
  });
  module._compile(outputText, filename);
};

const [script, ...args] = process.argv.slice(2);
process.argv = [process.argv[0], script, ...args];
require(path.resolve(script));
