import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * `npm start`'s script, as a person runs it: it prints where each part runs, answers /health,
 * and a Ctrl-C (SIGINT) stops everything and exits 0.
 */
describe('the start script', () => {
  it('brings API, worker and a Temporal dev server up, and stops on SIGINT', async () => {
    const [port, temporalPort, uiPort] = [await freePort(), await freePort(), await freePort()];
    const child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'scripts', 'start.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        TEMPORAL_DEV_PORT: String(temporalPort),
        TEMPORAL_UI_PORT: String(uiPort),
        DATA_DIR: mkdtempSync(join(tmpdir(), 'mv-start-')),
        DATABASE_URL: inject('databaseUrl'),
        TEMPORAL_TASK_QUEUE: 'start-script-test',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (chunk) => (err += chunk));
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    const deadline = Date.now() + 60_000;
    while (!err.includes('Ctrl-C stops everything') && Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`start exited early:\n${err}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(err).toContain(`API          http://127.0.0.1:${port}`);
    expect(err).toContain(`Temporal UI  http://127.0.0.1:${uiPort}`);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(await health.json()).toEqual({ status: 'ok', postgres: 'ok', temporal: 'ok' });
    expect((await fetch(`http://127.0.0.1:${uiPort}/`)).status).toBe(200);

    child.kill('SIGINT');
    const code = await exited;
    expect(code, err).toBe(0);
    await expect(fetch(`http://127.0.0.1:${temporalPort}/`)).rejects.toThrow();
  });
});
