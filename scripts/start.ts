/**
 * `npm start`: the main job in the foreground. Postgres (DATABASE_URL, else the local server,
 * else an embedded one), Temporal (TEMPORAL_ADDRESS, else the CLI dev server with its Web UI),
 * migrations, the worker and the API. Ctrl-C stops all of it.
 */
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { resolvePostgres } from '../lib/services/postgres';
import { startTemporal } from '../lib/services/temporal';
import { startStack } from '../lib/stack';
import { routeTemporalLogs } from '../lib/temporal-logs';

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  // Before anything creates the Temporal runtime (the dev server launcher does).
  routeTemporalLogs(logger, 'INFO');
  const say = (line: string) => process.stderr.write(`${line}\n`);

  const postgres = await resolvePostgres({
    databaseUrl: config.databaseUrl,
    database: 'mobile_verify',
    dataDir: join(config.dataDir, 'pg'),
  });
  const temporal = await startTemporal({
    address: config.temporal.address,
    namespace: config.temporal.namespace,
    dbFile: join(config.dataDir, 'temporal.db'),
    port: config.temporal.devPort,
    uiPort: config.temporal.uiPort,
    uiCodecEndpoint: config.port ? `http://127.0.0.1:${config.port}/codec` : undefined,
  });
  const stack = await startStack({ config, databaseUrl: postgres.url, temporalAddress: temporal.address, logger });

  say('');
  say('mobile-verify is running');
  say(`  API          ${stack.url}   (health: ${stack.url}/health)`);
  say(
    `  Temporal     ${temporal.address}${config.temporal.address ? ' (TEMPORAL_ADDRESS)' : ' (CLI dev server, history in .data/temporal.db)'}`,
  );
  if (temporal.uiUrl) say(`  Temporal UI  ${temporal.uiUrl}`);
  say(`  Postgres     ${postgres.url.replace(/:[^:@/]*@/, ':***@')} (${postgres.source})`);
  say(`  SMS outbox   ${config.smsOutboxFile}`);
  say('Ctrl-C stops everything.');
  say('');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping`);
    await stack.stop();
    await temporal.stop();
    await postgres.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`start failed: ${(error as Error).message}\n`);
  }
  process.exit(1);
});
