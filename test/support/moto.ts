import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

const MOTO_SERVER = join(resolve(__dirname, '..', '..'), '.tools', 'venv', 'bin', 'moto_server');

/** Fixed credentials for the mock: the SDK's default chain reads them from the environment. */
export const MOTO_ENV = {
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  // Never ask an instance metadata service for credentials.
  AWS_EC2_METADATA_DISABLED: 'true',
};

export interface SnsSms {
  messageId: string;
  phoneNumber: string;
  message: string;
}

export interface Moto {
  /** `http://127.0.0.1:<port>`, the same across stop and start. */
  url: string;
  port: number;
  /** Starts the server again on the same port after `stop`. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Every SMS SNS took through `Publish` to a phone number, oldest first. */
  sms(): Promise<SnsSms[]>;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/** moto's own view of its state: `sns.SMS` lists `{ message_id, phone_number, message }`. */
interface MotoData {
  sns?: { SMS?: { message_id: string; phone_number: string; message: string }[] };
}

/**
 * An AWS mock server (moto, installed by `scripts/setup.sh moto`) on a free loopback port, for
 * the SNS provider to talk to over real HTTP.
 */
export async function startMoto(): Promise<Moto> {
  if (!existsSync(MOTO_SERVER)) {
    throw new Error(`${MOTO_SERVER} is missing: run \`bash scripts/setup.sh moto\` (needs PyPI)`);
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = '';
  const killOnExit = () => child?.kill('SIGKILL');
  process.on('exit', killOnExit);

  async function answers(): Promise<boolean> {
    try {
      const response = await fetch(`${url}/moto-api/data.json`, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      return response.ok;
    } catch {
      return false;
    }
  }

  async function start() {
    if (child) throw new Error('moto_server is already running');
    output = '';
    const proc = spawn(MOTO_SERVER, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 30_000;
    while (!(await answers())) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        child = undefined;
        throw new Error(`moto_server exited (${proc.exitCode ?? proc.signalCode}):\n${output.slice(-2_000)}`);
      }
      if (Date.now() > deadline)
        throw new Error(`moto_server did not answer on ${url} within 30 s:\n${output.slice(-2_000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function stop() {
    const proc = child;
    if (!proc) return;
    child = undefined;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  await start();
  return {
    url,
    port,
    start,
    stop,
    async sms() {
      const response = await fetch(`${url}/moto-api/data.json`);
      if (!response.ok) throw new Error(`moto data.json answered ${response.status}`);
      const data = (await response.json()) as MotoData;
      return (data.sns?.SMS ?? []).map((m) => ({
        messageId: m.message_id,
        phoneNumber: m.phone_number,
        message: m.message,
      }));
    },
  };
}
