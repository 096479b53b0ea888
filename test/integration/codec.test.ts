import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verificationWorkflowId } from '../../domain/scenarios';
import { PATCH_OP } from '../../domain/schema';
import { ADMIN_SCOPES, Harness, eventually, freshOrg, startHarness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe('codec endpoint for the Web UI', () => {
  it('decodes a workflow input that history holds encrypted', async () => {
    const org = freshOrg();
    const admin = await h.token(org, 'admin', ADMIN_SCOPES);
    const id = (
      await h.call('POST', `/t/${org}/scim2/Users`, {
        token: admin,
        body: { userName: 'gus', phoneNumbers: [{ type: 'mobile', value: '0111111111' }] },
      })
    ).body.id;
    await h.call('PATCH', `/t/${org}/scim2/Users/${id}`, {
      token: admin,
      body: {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '0123456781' }],
      },
    });
    await eventually(() => h.codeFor('0123456781', id));
    const history = await h.client.workflow
      .getHandle(verificationWorkflowId(org, id, 'MOBILE_VERIFICATION_ON_UPDATE'))
      .fetchHistory();
    const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    const wire = {
      payloads: [
        {
          metadata: Object.fromEntries(
            Object.entries(input.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
          ),
          data: Buffer.from(input.data!).toString('base64'),
        },
      ],
    };
    expect(Buffer.from(input.data!).toString('latin1')).not.toContain('0123456781');

    const decoded = await h.call('POST', '/codec/decode', { body: wire, headers: { 'X-Namespace': 'default' } });
    expect(decoded.status).toBe(200);
    const json = JSON.parse(Buffer.from(decoded.body.payloads[0].data, 'base64').toString('utf8'));
    expect(json).toMatchObject({ number: '0123456781', maskedNumber: '******6781', org });
  });

  it('answers the Web UI preflight for its origin only', async () => {
    const ok = await h.call('OPTIONS', '/codec/decode', {
      headers: { Origin: 'http://127.0.0.1:8233', 'Access-Control-Request-Method': 'POST' },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
    const other = await h.call('OPTIONS', '/codec/decode', {
      headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses malformed bodies with 400', async () => {
    expect((await h.call('POST', '/codec/decode', { body: { payloads: 'x' } })).status).toBe(400);
    const badKey = {
      payloads: [
        {
          metadata: {
            encoding: Buffer.from('binary/encrypted').toString('base64'),
            'encryption-key-id': Buffer.from('nope').toString('base64'),
          },
          data: 'AAAA',
        },
      ],
    };
    expect((await h.call('POST', '/codec/decode', { body: badKey })).status).toBe(400);
  });
});
