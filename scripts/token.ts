/**
 * Prints a development token, nothing else, on stdout:
 *   npm run token -- --org bifrost --sub <userId> --scope "internal_user_mgt_update internal_login"
 */
import { parseArgs } from 'node:util';
import { mintDevToken } from '../api/auth';
import { ConfigError, loadConfig } from '../lib/config';

async function main() {
  const { values } = parseArgs({
    options: {
      org: { type: 'string', default: 'carbon.super' },
      sub: { type: 'string' },
      scope: { type: 'string', default: '' },
      expires: { type: 'string', default: '1h' },
    },
    strict: true,
  });
  if (!values.sub) throw new ConfigError('--sub <userId> is required');
  const config = loadConfig();
  if (config.auth.mode !== 'dev') throw new ConfigError('npm run token mints development tokens only (AUTH_MODE=dev)');
  const token = await mintDevToken(config.auth.devSecret, {
    org: values.org!,
    sub: values.sub,
    scope: values.scope!,
    expiresIn: values.expires,
  });
  process.stdout.write(`${token}\n`);
}

main().catch((error) => {
  process.stderr.write(`token: ${(error as Error).message}\n`);
  process.exit(1);
});
