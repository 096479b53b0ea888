/**
 * Starts (or attaches to) the Temporal server the project needs.
 *
 * - With `address` (the caller passes process.env.TEMPORAL_ADDRESS): nothing is started; the
 *   project's search attributes are registered on that server (existing ones are left alone).
 * - Otherwise a local dev server (Temporal CLI `temporal server start-dev`) is started through
 *   `TestWorkflowEnvironment.createLocal`, using the CLI that `scripts/setup.sh` put in
 *   `.tools/venv` (or `temporal` on PATH); when neither exists, the SDK downloads the CLI itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { searchAttributes } from '../../workflows/messages';

export interface TemporalTarget {
  /** host:port of the frontend gRPC service */
  address: string;
  namespace: string;
  /** Web UI, when one was started */
  uiUrl?: string;
  /** Stops the server this call started (or only closes the connection for an external server). */
  stop(): Promise<void>;
}

/** Custom search attributes the workflows write, from their one definition; all Keyword. */
export const SEARCH_ATTRIBUTES: { name: string; type: 'Keyword' }[] = Object.values(searchAttributes).map((key) => ({
  name: key.name,
  type: 'Keyword' as const,
}));

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const VENV_BIN = path.join(REPO_ROOT, '.tools', 'venv', 'bin');

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findExecutable(name: string): string | undefined {
  const local = path.join(VENV_BIN, name);
  if (isExecutableFile(local)) return local;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** `.tools/venv/bin/temporal` if executable, else `temporal` on PATH, else undefined. */
export function findTemporalCli(): string | undefined {
  return findExecutable('temporal');
}

export interface StartTemporalOptions {
  /** An existing server (e.g. process.env.TEMPORAL_ADDRESS): start nothing, only register the search attributes. */
  address?: string;
  /** Default 'default'. */
  namespace?: string;
  /** SQLite history file (e.g. '.data/temporal.db'); omitted => in-memory. Its folder is created. */
  dbFile?: string;
  /** Frontend port; omitted => a free port. */
  port?: number;
  /** Web UI port; omitted => no UI. */
  uiPort?: number;
  /** Default '127.0.0.1'. */
  ip?: string;
  /** Dev server log level; default 'warn'. */
  logLevel?: string;
  /** Remote codec the Web UI uses to show decrypted payloads (the API's /codec). */
  uiCodecEndpoint?: string;
}

function isAlreadyExists(err: unknown): boolean {
  const e = err as { code?: unknown; details?: unknown; message?: unknown } | null;
  // gRPC status 6 = ALREADY_EXISTS
  if (e && e.code === 6) return true;
  const text = `${String(e?.details ?? '')} ${String(e?.message ?? '')}`;
  return /already exists/i.test(text);
}

async function registerSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const present = new Set(Object.keys(customAttributes ?? {}));
  const missing = SEARCH_ATTRIBUTES.filter((a) => !present.has(a.name));
  if (missing.length === 0) return;
  const keyword = encodeSearchAttributeIndexedValueType(SearchAttributeType.KEYWORD);
  if (keyword === undefined) throw new Error('cannot encode the Keyword search attribute type');
  const searchAttributes: Record<string, typeof keyword> = {};
  for (const a of missing) searchAttributes[a.name] = keyword;
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    // Someone else registered them in the meantime: add any still missing one by one.
    for (const a of missing) {
      try {
        await connection.operatorService.addSearchAttributes({
          namespace,
          searchAttributes: { [a.name]: searchAttributes[a.name] },
        });
      } catch (err2) {
        if (!isAlreadyExists(err2)) throw err2;
      }
    }
  }
}

/** Host to put in the UI URL: a wildcard bind is reached through loopback. */
function uiHost(ip: string): string {
  if (ip === '0.0.0.0' || ip === '::' || ip === '') return '127.0.0.1';
  return ip.includes(':') ? `[${ip}]` : ip;
}

export async function startTemporal(opts: StartTemporalOptions = {}): Promise<TemporalTarget> {
  const namespace = opts.namespace ?? 'default';

  if (opts.address) {
    const connection = await Connection.connect({ address: opts.address });
    try {
      await registerSearchAttributes(connection, namespace);
    } catch (err) {
      await connection.close().catch(() => undefined);
      throw err;
    }
    let closed: Promise<void> | undefined;
    return {
      address: opts.address,
      namespace,
      stop: () => (closed ??= connection.close()),
    };
  }

  const ip = opts.ip ?? '127.0.0.1';
  const cli = findTemporalCli();
  let dbFilename: string | undefined;
  if (opts.dbFile) {
    dbFilename = path.resolve(opts.dbFile);
    fs.mkdirSync(path.dirname(dbFilename), { recursive: true });
  }

  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: cli ? { type: 'existing-path', path: cli } : { type: 'cached-download' },
      ip,
      port: opts.port,
      ui: opts.uiPort !== undefined,
      uiPort: opts.uiPort,
      dbFilename,
      namespace,
      log: { format: 'pretty', level: opts.logLevel ?? 'warn' },
      searchAttributes: SEARCH_ATTRIBUTES.map((a) => defineSearchAttributeKey(a.name, SearchAttributeType.KEYWORD)),
      // The CLI prints a start-up banner on the stdout it shares with this process: keep stdout for the app.
      // The UI's newsfeed would make the browser fetch from the internet.
      extraArgs: [
        '--output',
        'none',
        ...(opts.uiPort !== undefined ? ['--ui-disable-news-fetch'] : []),
        ...(opts.uiPort !== undefined && opts.uiCodecEndpoint ? ['--ui-codec-endpoint', opts.uiCodecEndpoint] : []),
      ],
    },
  });

  // If the process exits without stop(), the server would live on (holding its port and db file).
  const pid = serverPid(env.address);
  const killOnExit = () => {
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  process.once('exit', killOnExit);

  let stopped: Promise<void> | undefined;
  return {
    // host:port the ephemeral server actually bound (the port is picked by the SDK when not given)
    address: env.address,
    namespace,
    uiUrl: opts.uiPort !== undefined ? `http://${uiHost(ip)}:${opts.uiPort}` : undefined,
    stop: () =>
      (stopped ??= env.teardown().finally(() => {
        process.removeListener('exit', killOnExit);
      })),
  };
}

/** pid of this process's child serving `address` (Linux /proc); undefined when it cannot be told. */
function serverPid(address: string): number | undefined {
  const port = address.slice(address.lastIndexOf(':') + 1);
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const i = args.indexOf('--port');
      if (args.includes('start-dev') && i >= 0 && args[i + 1] === port) return Number(entry);
    } catch {
      // raced with a process exit
    }
  }
  return undefined;
}
