import { Client } from '@temporalio/client';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { mintDevToken } from '../../api/auth';
import type { SmsProvider } from '../../activities/sms/provider';
import { Policy } from '../../domain/policy';
import { Config, loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { Stack, startStack } from '../../lib/stack';

/**
 * A fixed payload key for tests only, so that recorded history fixtures can be decrypted when
 * they replay. Never used outside the test suite.
 */
export const TEST_PAYLOAD_KEYS = 'test1:dGVzdC1vbmx5LXBheWxvYWQta2V5LTMyLWJ5dGVzISE=';

export const ADMIN_SCOPES = [
  'internal_user_mgt_create',
  'internal_user_mgt_list',
  'internal_user_mgt_view',
  'internal_user_mgt_update',
  'internal_user_mgt_delete',
  'internal_governance_view',
  'internal_governance_update',
].join(' ');

export interface SmsLine {
  to: string;
  body: string;
  org: string;
  scenario: string;
  userId: string;
  messageId: string;
  at: string;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

export interface Harness {
  url: string;
  config: Config;
  stack: Stack;
  client: Client;
  /** Every log line the API and worker wrote, as JSON text. */
  logs: string[];
  outbox(): SmsLine[];
  /** The code in the latest SMS to `to` (for `userId` only, when given). */
  codeFor(to: string, userId?: string): string;
  token(org: string, sub: string, scope: string): Promise<string>;
  call(
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<Reply>;
  stop(): Promise<void>;
}

/**
 * The real API and worker in this process, against the run's Temporal server and Postgres,
 * on their own task queue and outbox file, reached over HTTP on a loopback port.
 */
export async function startHarness(
  opts: {
    policy?: Partial<Policy>;
    smsProviders?: Record<string, SmsProvider>;
    env?: Record<string, string>;
    worker?: boolean;
  } = {},
): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mv-test-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    PAYLOAD_KEYS: TEST_PAYLOAD_KEYS,
    PORT: '0',
    LOG_LEVEL: 'info',
    TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
    ...opts.env,
  });
  config.policyDefaults = { ...config.policyDefaults, ...opts.policy };
  const logs: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void logs.push(line) });
  const stack = await startStack({
    config,
    logger,
    databaseUrl: inject('databaseUrl'),
    temporalAddress: inject('temporalAddress'),
    workflowBundle: { codePath: inject('workflowBundlePath') },
    smsProviders: opts.smsProviders,
    worker: opts.worker,
  });
  const url = stack.url!;

  const outbox = (): SmsLine[] =>
    existsSync(config.smsOutboxFile)
      ? readFileSync(config.smsOutboxFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [];

  return {
    url,
    config,
    stack,
    client: stack.client,
    logs,
    outbox,
    codeFor(to, userId) {
      const sms = outbox()
        .filter((m) => m.to === to && (userId === undefined || m.userId === userId))
        .at(-1);
      const code = sms?.body.match(/code is ([0-9A-Z]+)/)?.[1];
      if (!code) throw new Error(`no SMS to ${to} yet`);
      return code;
    },
    token: (org, sub, scope) => mintDevToken(config.auth.devSecret, { org, sub, scope }),
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token) headers.Authorization = `Bearer ${o.token}`;
      let body: string | undefined = o.raw;
      if (o.body !== undefined) body = JSON.stringify(o.body);
      if (body !== undefined && !headers['Content-Type']) headers['Content-Type'] = 'application/json';
      const response = await fetch(url + path, { method, headers, body });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, headers: response.headers, body: parsed };
    },
    stop: () => stack.stop(),
  };
}

/** Waits until `check` passes; for effects of a workflow that the API does not wait for. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A fresh org name per test keeps tests independent on a shared server. */
export const freshOrg = (prefix = 'org') => `${prefix}-${randomUUID().slice(0, 8)}`;
