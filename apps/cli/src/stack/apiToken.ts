/**
 * The gateway's bearer token for the local stack: TANDEM_API_TOKEN when set, else 32 random bytes (hex) generated
 * once and kept in `<dataDir>/api-token` (mode 0600) so a restart keeps the same token. There is no default token.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { StackConfigError } from './stackOptions';

export const API_TOKEN_FILE = 'api-token';
/** The gateway's minimum (apps/gateway/src/config.ts); checked here too so the error names the file. */
const MIN_TOKEN_LENGTH = 16;

export interface ApiToken {
  token: string;
  /** `environment` (TANDEM_API_TOKEN), `file` (kept from an earlier start) or `generated` (just now). */
  source: 'environment' | 'file' | 'generated';
  file?: string;
}

export function loadOrCreateApiToken(dataDir: string, fromEnv: string | undefined): ApiToken {
  if (fromEnv !== undefined) {
    if (fromEnv.length < MIN_TOKEN_LENGTH || /\s/.test(fromEnv)) {
      throw new StackConfigError(`TANDEM_API_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters without blanks (e.g. \`openssl rand -hex 32\`), or unset to have one generated`);
    }
    return { token: fromEnv, source: 'environment' };
  }
  const file = path.join(dataDir, API_TOKEN_FILE);
  let text: string | undefined;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new StackConfigError(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (text !== undefined) {
    const token = text.trim();
    if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
      throw new StackConfigError(`${file} does not hold a usable token (at least ${MIN_TOKEN_LENGTH} characters, no blanks); delete it and a new one is generated`);
    }
    // Whoever can read the token can change the fleet: keep it to its owner even if the mode was widened.
    if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
    return { token, source: 'file', file };
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('hex');
  try {
    // `wx`: never overwrite a token another start wrote a moment ago; mode 0600 from the first byte.
    fs.writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateApiToken(dataDir, undefined);
    throw new StackConfigError(`cannot write ${file}: ${(err as Error).message}`);
  }
  return { token, source: 'generated', file };
}
