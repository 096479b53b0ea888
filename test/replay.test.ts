import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { EncryptionCodec, parsePayloadKeys } from '../lib/codec';
import { TEST_PAYLOAD_KEYS } from './support/harness';

const DIR = join(__dirname, 'fixtures', 'histories');
const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

/**
 * Recorded histories of every path through the workflow replay against today's workflow code.
 * A change of the workflow's shape that would break a running verification fails here.
 * `npm run record-histories` records them anew (keep the old files: they are the point).
 */
describe('replay of recorded histories', () => {
  it('has a fixture for every ending of a verification', () => {
    const endings = ['verified', 'superseded', 'cancelled', 'expired', 'failed', 'send-failed'];
    for (const ending of endings) expect(fixtures.some((f) => f.includes(ending))).toBe(true);
  });

  it.each(fixtures)('%s replays without nondeterminism', async (file) => {
    // The JSON form as the CLI wrote it; the worker converts it itself.
    const history: unknown = JSON.parse(readFileSync(join(DIR, file), 'utf8'));
    await Worker.runReplayHistory(
      {
        workflowBundle: { codePath: inject('workflowBundlePath') },
        dataConverter: { payloadCodecs: [new EncryptionCodec(parsePayloadKeys(TEST_PAYLOAD_KEYS))] },
      },
      history,
      file,
    );
  });
});
