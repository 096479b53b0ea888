import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { BUILT_IN_POLICY, Policy, policySchema } from '../domain/policy';
import { PayloadKey, newPayloadKey, parsePayloadKeys } from './codec';

export const REPO_ROOT = resolve(__dirname, '..');

/** A bad configuration value: entry points print the message and exit 1, no stack trace. */
export class ConfigError extends Error {}

/** Every environment variable the services read; docker-compose.yml is checked against it. */
export const envSchema = z.object({
  NODE_ENV: z.string().optional(),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  PUBLIC_BASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().default(join(REPO_ROOT, '.data')),
  DATABASE_URL: z.string().url().optional(),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^:\s]+:\d+$/, 'host:port')
    .optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('mobile-verification'),
  TEMPORAL_DEV_PORT: z.coerce.number().int().min(0).max(65_535).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(0).max(65_535).default(8233),
  AUTH_MODE: z.enum(['dev', 'jwks']).default('dev'),
  AUTH_DEV_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  AUTH_JWKS_URL: z.string().url().optional(),
  AUTH_ISSUER: z.string().optional(),
  AUTH_AUDIENCE: z.string().optional(),
  AUTH_JWKS_COOLDOWN: z.coerce.number().int().min(0).max(3_600).default(30),
  CODE_HASH_KEY: z.string().min(32, 'at least 32 characters').optional(),
  PAYLOAD_KEYS: z.string().optional(),
  CODEC_CORS_ORIGINS: z.string().optional(),
  SMS_PROVIDER: z.enum(['outbox', 'aws-sns', 'http']).optional(),
  SMS_OUTBOX_FILE: z.string().optional(),
  SMS_SENDER_ID: z
    .string()
    .regex(/^(?=.*[A-Za-z])[A-Za-z0-9]{1,11}$/, '1 to 11 letters and digits, at least one letter')
    .optional(),
  SMS_HTTP_URL: z.string().url().optional(),
  SMS_HTTP_TOKEN: z.string().min(1).optional(),
  // Below the SMS activity's 30 s start-to-close timeout.
  SMS_HTTP_TIMEOUT_MS: z.coerce.number().int().min(100).max(25_000).default(5_000),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  AWS_ENDPOINT_URL_SNS: z.string().url().optional(),
  METRICS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  VALIDATE_PER_IP_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(60),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  production: boolean;
  port: number;
  host: string;
  /** The origin clients reach the API at (for Location and meta.location); else the Host header. */
  publicBaseUrl?: string;
  dataDir: string;
  databaseUrl?: string;
  /** `devPort`/`uiPort`: where `npm start` runs the dev server when no address is given. */
  temporal: { address?: string; namespace: string; taskQueue: string; devPort: number; uiPort: number };
  auth: {
    mode: 'dev' | 'jwks';
    devSecret: Buffer;
    jwksUrl?: string;
    issuer?: string;
    audience?: string;
    jwksCooldownSeconds: number;
  };
  codeHashKey: Buffer;
  /** Keys of the payload codec: the first encrypts, all decrypt. */
  payloadKeys: PayloadKey[];
  /** Web UI origins allowed to call the codec endpoints from a browser. */
  codecCorsOrigins: string[];
  smsOutboxFile: string;
  /** `aws-sns`: credentials come from the AWS SDK's default chain. */
  sns: { region: string; endpoint?: string; senderId?: string };
  /** `http`: present when `SMS_HTTP_URL` is set. */
  smsHttp?: { url: string; token: string; timeoutMs: number };
  logLevel: string;
  /** A separate port for /metrics (the worker alone has no API to serve them). */
  metricsPort?: number;
  /** validate-code requests one IP address may make per minute. */
  validatePerIpPerMinute: number;
  /** Policy defaults from configuration; each org may override them. */
  policyDefaults: Policy;
}

/** `POLICY_CODE_TTL=60` overrides `codeTtl`, and so on for every policy field. */
function policyFromEnv(env: NodeJS.ProcessEnv, smsProvider: string | undefined): Policy {
  const merged: Record<string, unknown> = { ...BUILT_IN_POLICY };
  if (smsProvider) merged.smsProvider = smsProvider;
  for (const key of Object.keys(BUILT_IN_POLICY)) {
    const name = `POLICY_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
    const raw = env[name];
    if (raw === undefined) continue;
    const kind = typeof (BUILT_IN_POLICY as Record<string, unknown>)[key];
    if (kind === 'boolean' && !/^(true|false)$/.test(raw))
      throw new ConfigError(`${name} must be true or false, not "${raw}"`);
    if (kind === 'number' && !/^[0-9]+$/.test(raw))
      throw new ConfigError(`${name} must be a whole number, not "${raw}"`);
    merged[key] = kind === 'number' ? Number(raw) : kind === 'boolean' ? raw === 'true' : raw;
  }
  const parsed = policySchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(
      `Bad policy default: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/**
 * Secrets that development generates once into the data folder (never into the repo).
 * Production refuses to start without them.
 */
function devSecret(dataDir: string, name: string, production: boolean, given: string | undefined): Buffer {
  if (given) return Buffer.from(given, 'utf8');
  if (production) throw new ConfigError(`${name} is required when NODE_ENV=production`);
  const file = join(dataDir, 'secrets', name.toLowerCase());
  if (!existsSync(file)) {
    mkdirSync(join(dataDir, 'secrets'), { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32).toString('base64url'), { flag: 'wx', mode: 0o600 });
  }
  chmodSync(file, 0o600);
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'utf8');
}

function payloadKeysOf(dataDir: string, production: boolean, given: string | undefined): PayloadKey[] {
  if (!given && production) throw new ConfigError('PAYLOAD_KEYS is required when NODE_ENV=production');
  const file = join(dataDir, 'secrets', 'payload_keys');
  if (!given && !existsSync(file)) {
    mkdirSync(join(dataDir, 'secrets'), { recursive: true, mode: 0o700 });
    writeFileSync(file, newPayloadKey('dev1'), { flag: 'wx', mode: 0o600 });
  }
  try {
    return parsePayloadKeys(given ?? readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Bad configuration: ${issues}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  if (production && e.AUTH_MODE === 'dev') {
    throw new ConfigError('AUTH_MODE=dev is not allowed when NODE_ENV=production');
  }
  if (e.AUTH_MODE === 'jwks' && (!e.AUTH_JWKS_URL || !e.AUTH_ISSUER || !e.AUTH_AUDIENCE)) {
    throw new ConfigError('AUTH_MODE=jwks needs AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE');
  }
  if (e.SMS_HTTP_URL && !e.SMS_HTTP_TOKEN) {
    throw new ConfigError('SMS_HTTP_URL needs SMS_HTTP_TOKEN');
  }
  const policyDefaults = policyFromEnv(env, e.SMS_PROVIDER);
  if (policyDefaults.smsProvider === 'http' && !e.SMS_HTTP_URL) {
    throw new ConfigError('SMS_PROVIDER=http needs SMS_HTTP_URL and SMS_HTTP_TOKEN');
  }
  // The outbox file is for development; production must name a real provider.
  if (production && policyDefaults.smsProvider === 'outbox') {
    throw new ConfigError('NODE_ENV=production needs SMS_PROVIDER=aws-sns or http (the outbox is for development)');
  }
  const dataDir = resolve(e.DATA_DIR);
  return {
    production,
    port: e.PORT,
    host: e.HOST,
    publicBaseUrl: e.PUBLIC_BASE_URL?.replace(/\/+$/, ''),
    dataDir,
    databaseUrl: e.DATABASE_URL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      devPort: e.TEMPORAL_DEV_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
    },
    auth: {
      mode: e.AUTH_MODE,
      devSecret:
        e.AUTH_MODE === 'dev' ? devSecret(dataDir, 'AUTH_DEV_SECRET', production, e.AUTH_DEV_SECRET) : Buffer.alloc(0),
      jwksUrl: e.AUTH_JWKS_URL,
      issuer: e.AUTH_ISSUER,
      audience: e.AUTH_AUDIENCE,
      jwksCooldownSeconds: e.AUTH_JWKS_COOLDOWN,
    },
    codeHashKey: devSecret(dataDir, 'CODE_HASH_KEY', production, e.CODE_HASH_KEY),
    payloadKeys: payloadKeysOf(dataDir, production, e.PAYLOAD_KEYS),
    codecCorsOrigins: (
      e.CODEC_CORS_ORIGINS ?? `http://127.0.0.1:${e.TEMPORAL_UI_PORT},http://localhost:${e.TEMPORAL_UI_PORT}`
    )
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    smsOutboxFile: resolve(e.SMS_OUTBOX_FILE ?? join(dataDir, 'sms-outbox.jsonl')),
    sns: { region: e.AWS_REGION, endpoint: e.AWS_ENDPOINT_URL_SNS, senderId: e.SMS_SENDER_ID },
    smsHttp: e.SMS_HTTP_URL
      ? { url: e.SMS_HTTP_URL, token: e.SMS_HTTP_TOKEN!, timeoutMs: e.SMS_HTTP_TIMEOUT_MS }
      : undefined,
    logLevel: e.LOG_LEVEL,
    validatePerIpPerMinute: e.VALIDATE_PER_IP_PER_MINUTE,
    metricsPort: e.METRICS_PORT,
    policyDefaults,
  };
}
