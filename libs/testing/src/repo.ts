// Where the repository and its built `tandem` CLI are, for tests that run the product as a child process.
import * as path from 'path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const TANDEM_BIN = path.join(REPO_ROOT, 'apps', 'cli', 'bin', 'tandem.js');
