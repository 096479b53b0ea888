import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { envSchema } from '../../lib/config';
import { SEARCH_ATTRIBUTES } from '../../lib/services/temporal';

/**
 * This machine has no Docker engine, so docker-compose.yml is checked by its structure: the
 * services exist, the app containers use only settings the code reads, and Temporal registers
 * the search attributes the workflows write.
 */
const compose = parse(readFileSync(join(__dirname, '..', '..', 'docker-compose.yml'), 'utf8'), { merge: true });
const known = Object.keys(envSchema.shape);

describe('docker-compose.yml', () => {
  it('has Postgres, Temporal (with its UI), the API and the worker', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'postgres', 'temporal', 'worker']);
    expect(compose.services.temporal.ports).toContain('8233:8233');
    expect(compose.services.api.command).toEqual(['npm', 'run', 'api']);
    expect(compose.services.worker.command).toEqual(['npm', 'run', 'worker']);
  });

  it.each(['api', 'worker'])(
    '%s is configured only with variables the code reads, pointing at the other services',
    (name) => {
      const env = compose.services[name].environment as Record<string, string>;
      for (const key of Object.keys(env)) expect(known, key).toContain(key);
      expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(env.DATABASE_URL).toMatch(/@postgres:5432\//);
      expect(compose.services[name].depends_on).toHaveProperty('postgres');
    },
  );

  it('registers every search attribute of the workflows', () => {
    const flags = (compose.services.temporal.command as string[]).filter((a) => a.startsWith('--search-attribute='));
    expect(flags.sort()).toEqual(SEARCH_ATTRIBUTES.map((a) => `--search-attribute=${a.name}=${a.type}`).sort());
  });

  it('the API and the worker share the data volume that holds the development secrets', () => {
    expect(compose.services.api.volumes).toEqual(compose.services.worker.volumes);
    expect(compose.services.api.environment.DATA_DIR).toBe('/data');
  });
});
