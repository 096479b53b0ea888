import { Client, Connection } from '@temporalio/client';
import { NativeConnection, WorkerOptions } from '@temporalio/worker';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createActivities } from '../activities';
import { httpProvider } from '../activities/sms/http';
import { outboxProvider } from '../activities/sms/outbox';
import type { SmsProvider } from '../activities/sms/provider';
import { snsProvider } from '../activities/sms/sns';
import { createApp } from '../api/app';
import { devVerifier, jwksVerifier } from '../api/auth';
import { Op } from 'sequelize';
import { Database, PendingChangeRow, connectDatabase, migrate } from '../db';
import { trackPendingChanges } from './metrics';
import { FAILURE_CONVERTER_PATH, createWorker } from '../worker';
import { EncryptionCodec } from './codec';
import type { Config } from './config';
import type { Logger } from './logger';
import { routeTemporalLogs } from './temporal-logs';

export interface StackOptions {
  config: Config;
  databaseUrl: string;
  temporalAddress: string;
  logger: Logger;
  /** Run the API (default true) and the worker (default true) in this process. */
  api?: boolean;
  worker?: boolean;
  workflowBundle?: WorkerOptions['workflowBundle'];
  smsProviders?: Partial<Record<string, SmsProvider>>;
}

export interface Stack {
  url?: string;
  db: Database;
  client: Client;
  stop(): Promise<void>;
}

/** Payloads and failure messages encrypted with the configured keys, for clients and workers. */
export function temporalDataConverter(config: Pick<Config, 'payloadKeys'>) {
  return {
    payloadCodecs: [new EncryptionCodec(config.payloadKeys)],
    failureConverterPath: FAILURE_CONVERTER_PATH,
  };
}

/** Providers by policy name; `aws-sns` makes its client on its first send. */
export function defaultSmsProviders(config: Config): Partial<Record<string, SmsProvider>> {
  return {
    outbox: outboxProvider(config.smsOutboxFile),
    'aws-sns': snsProvider(config.sns),
    ...(config.smsHttp ? { http: httpProvider(config.smsHttp) } : {}),
  };
}

/**
 * Connects to Postgres (migrating it) and Temporal, then runs the worker and the API as asked.
 * `npm start`, `npm run api`, `npm run worker`, the tests and the benchmark all go through here.
 */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const { config, logger } = opts;
  routeTemporalLogs(logger, config.logLevel === 'debug' || config.logLevel === 'trace' ? 'DEBUG' : 'INFO');
  const db = connectDatabase(opts.databaseUrl, { dataKeys: config.payloadKeys });
  const applied = await migrate(db);
  trackPendingChanges(() => PendingChangeRow.count({ where: { expiresAt: { [Op.gt]: new Date() } } }));
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');

  const dataConverter = temporalDataConverter(config);
  const connection = await Connection.connect({ address: opts.temporalAddress });
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter });
  const stops: (() => Promise<void>)[] = [];
  const smsProviders = opts.smsProviders ?? defaultSmsProviders(config);

  if (opts.worker !== false) {
    const nativeConnection = await NativeConnection.connect({ address: opts.temporalAddress });
    const worker = await createWorker({
      connection: nativeConnection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      workflowBundle: opts.workflowBundle,
      dataConverter,
      activities: createActivities({
        db,
        codeHashKey: config.codeHashKey,
        smsProviders,
        logger: logger.child({ part: 'worker' }),
      }),
    });
    const running = worker.run();
    stops.push(async () => {
      // On SIGINT/SIGTERM the SDK has already begun shutting the worker down by itself.
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await nativeConnection.close();
    });
  }

  let url: string | undefined;
  if (opts.api !== false) {
    const app = createApp({
      config,
      db,
      temporal: client,
      verifier:
        config.auth.mode === 'jwks'
          ? jwksVerifier({
              url: config.auth.jwksUrl!,
              issuer: config.auth.issuer!,
              audience: config.auth.audience!,
              cooldownMs: config.auth.jwksCooldownSeconds * 1000,
            })
          : devVerifier(config.auth.devSecret),
      logger: logger.child({ part: 'api' }),
      smsProviders: Object.keys(smsProviders),
    });
    const server: Server = await new Promise((resolve, reject) => {
      const s = app.listen(config.port, config.host, () => resolve(s));
      s.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new Error(
            error.code === 'EADDRINUSE'
              ? `port ${config.port} on ${config.host} is in use: set PORT to another one`
              : error.message,
          ),
        ),
      );
    });
    const { port } = server.address() as AddressInfo;
    url = `http://${config.host}:${port}`;
    stops.unshift(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
  }

  return {
    url,
    db,
    client,
    async stop() {
      for (const stop of stops) await stop();
      await connection.close();
      await db.close();
    },
  };
}
