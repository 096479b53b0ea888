import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config';
import { newPayloadKey } from '../../lib/codec';

const dir = () => mkdtempSync(join(tmpdir(), 'mv-config-'));
const production = {
  NODE_ENV: 'production',
  AUTH_MODE: 'jwks',
  AUTH_JWKS_URL: 'https://idp.example/jwks',
  AUTH_ISSUER: 'https://idp.example',
  AUTH_AUDIENCE: 'mobile-verify',
  CODE_HASH_KEY: 'k'.repeat(40),
  PAYLOAD_KEYS: newPayloadKey('p1'),
  SMS_PROVIDER: 'aws-sns',
};

describe('configuration', () => {
  it('development generates its secrets once and reuses them', () => {
    const DATA_DIR = dir();
    const first = loadConfig({ DATA_DIR });
    const second = loadConfig({ DATA_DIR });
    expect(first.codeHashKey.equals(second.codeHashKey)).toBe(true);
    expect(first.auth.devSecret.equals(second.auth.devSecret)).toBe(true);
    expect(first.payloadKeys[0]!.key.equals(second.payloadKeys[0]!.key)).toBe(true);
  });

  it("the codec answers the Web UI's origin on the UI port that is configured", () => {
    expect(loadConfig({ DATA_DIR: dir(), TEMPORAL_UI_PORT: '8400' }).codecCorsOrigins).toEqual([
      'http://127.0.0.1:8400',
      'http://localhost:8400',
    ]);
  });

  it('production starts with every key given', () => {
    expect(loadConfig({ ...production, DATA_DIR: dir() }).production).toBe(true);
  });

  it.each([
    ['development tokens', { AUTH_MODE: 'dev' }, /AUTH_MODE=dev/],
    ['no code hash key', { CODE_HASH_KEY: undefined }, /CODE_HASH_KEY is required/],
    ['no payload keys', { PAYLOAD_KEYS: undefined }, /PAYLOAD_KEYS is required/],
    ['a short payload key', { PAYLOAD_KEYS: 'p1:c2hvcnQ=' }, /32 bytes/],
    ['no JWKS URL', { AUTH_JWKS_URL: undefined }, /AUTH_JWKS_URL/],
    ['the development SMS outbox, named or by default', { SMS_PROVIDER: undefined }, /SMS_PROVIDER=aws-sns or http/],
  ])('production refuses to start with %s', (_name, change, message) => {
    expect(() => loadConfig({ ...production, ...change, DATA_DIR: dir() })).toThrowError(message);
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT/],
    [{ TEMPORAL_ADDRESS: 'no-port' }, /TEMPORAL_ADDRESS/],
    [{ POLICY_CODE_LENGTH: '2' }, /codeLength/],
    [{ SMS_PROVIDER: 'pigeon' }, /SMS_PROVIDER/],
    [{ POLICY_ENABLED: 'TRUE' }, /POLICY_ENABLED must be true or false/],
    [{ POLICY_CODE_TTL: '5m' }, /POLICY_CODE_TTL must be a whole number/],
  ])('refuses %o with a message naming the setting', (env, message) => {
    expect(() => loadConfig({ ...env, DATA_DIR: dir() })).toThrowError(ConfigError);
    expect(() => loadConfig({ ...env, DATA_DIR: dir() })).toThrowError(message);
  });

  it('an entry point with a bad value prints one line and exits 1, no stack trace', () => {
    const tsx = join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx');
    const run = spawnSync(tsx, [join(__dirname, '..', '..', 'api', 'main.ts')], {
      env: { ...process.env, PORT: 'eighty', DATA_DIR: dir() },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^api: Bad configuration: PORT/);
  });
});
