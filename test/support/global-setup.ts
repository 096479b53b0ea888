import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { connectDatabase, migrate } from '../../db';
import { dropDatabase, ensureDatabase, resolvePostgres } from '../../lib/services/postgres';
import { startTemporal } from '../../lib/services/temporal';
import { FAILURE_CONVERTER_PATH, WORKFLOWS_PATH } from '../../worker';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    workflowBundlePath: string;
    temporalUiUrl: string;
  }
}

const ROOT = resolve(__dirname, '..', '..');
export const OUTPUT_DIR = join(ROOT, 'test-output');

/**
 * Once per run: a Temporal dev server (in memory, search attributes registered), a fresh
 * Postgres database with the migrations applied, and the workflow bundle built once.
 */
export default async function setup(project: TestProject) {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const [temporal, postgres] = await Promise.all([
    startTemporal({ logLevel: 'error', uiPort: await freePort() }),
    resolvePostgres({
      databaseUrl: process.env.TEST_DATABASE_URL,
      database: 'mobile_verify_test',
      dataDir: join(ROOT, '.data', 'test-pg'),
    }),
  ]);
  await dropDatabase(postgres.url);
  await ensureDatabase(postgres.url);
  const db = connectDatabase(postgres.url);
  await migrate(db);
  await db.close();

  const bundle = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: quietLogger,
  });
  const workflowBundlePath = join(OUTPUT_DIR, 'workflow-bundle.js');
  writeFileSync(workflowBundlePath, bundle.code);

  project.provide('temporalAddress', temporal.address);
  project.provide('databaseUrl', postgres.url);
  project.provide('workflowBundlePath', workflowBundlePath);
  project.provide('temporalUiUrl', temporal.uiUrl!);

  return async () => {
    await temporal.stop();
    await postgres.stop();
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
