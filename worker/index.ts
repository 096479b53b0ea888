import { NativeConnection, Worker, WorkerOptions } from '@temporalio/worker';
import { join } from 'node:path';
import type { Activities } from '../activities/contract';

export interface WorkerSetup {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: Activities;
  /** A prebuilt bundle (tests build once per run); otherwise the workflows are bundled now. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  dataConverter?: WorkerOptions['dataConverter'];
}

export const WORKFLOWS_PATH = join(__dirname, '..', 'workflows', 'index.ts');
/** Bundled with the workflows: failure messages pass through the payload codec. */
export const FAILURE_CONVERTER_PATH = join(__dirname, '..', 'workflows', 'failure-converter.ts');

/** Wires the verification workflow and its activities to the task queue. */
export function createWorker(setup: WorkerSetup): Promise<Worker> {
  return Worker.create({
    connection: setup.connection,
    namespace: setup.namespace,
    taskQueue: setup.taskQueue,
    activities: setup.activities,
    dataConverter: setup.dataConverter,
    ...(setup.workflowBundle ? { workflowBundle: setup.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
  });
}
