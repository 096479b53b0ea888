import { createServer } from 'node:http';
import { join } from 'node:path';
import { registry } from './metrics';
import { Config, ConfigError, loadConfig } from './config';
import { Logger, createLogger } from './logger';
import { resolvePostgres } from './services/postgres';
import { Stack, startStack } from './stack';

/**
 * Entry point of `npm run api` and `npm run worker`: one part alone, for production-style
 * deployments where Postgres and Temporal are given (DATABASE_URL, TEMPORAL_ADDRESS).
 */
function serveMetrics(host: string, port: number) {
  return createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.statusCode = 404;
      res.end();
      return;
    }
    registry.metrics().then((text) => {
      res.setHeader('Content-Type', registry.contentType);
      res.end(text);
    });
  }).listen(port, host);
}

export function runPart(part: 'api' | 'worker'): void {
  let config: Config;
  let logger: Logger;
  let stack: Stack | undefined;
  const fail = (error: unknown) => {
    process.stderr.write(`${part}: ${(error as Error).message}\n`);
    process.exit(1);
  };
  try {
    config = loadConfig();
    logger = createLogger(config.logLevel);
  } catch (error) {
    if (error instanceof ConfigError) return fail(error);
    throw error;
  }
  const start = async () => {
    const postgres = await resolvePostgres({
      databaseUrl: config.databaseUrl,
      database: 'mobile_verify',
      dataDir: join(config.dataDir, 'pg'),
    });
    stack = await startStack({
      config,
      logger,
      databaseUrl: postgres.url,
      temporalAddress: config.temporal.address ?? '127.0.0.1:7233',
      api: part === 'api',
      worker: part === 'worker',
    });
    const metrics = config.metricsPort === undefined ? undefined : serveMetrics(config.host, config.metricsPort);
    logger.info(
      { part, url: stack.url, taskQueue: config.temporal.taskQueue, metricsPort: config.metricsPort },
      `${part} started`,
    );
    const stop = async () => {
      metrics?.close();
      await stack?.stop();
      await postgres.stop();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop());
    process.once('SIGTERM', () => void stop());
  };
  start().catch(fail);
}
