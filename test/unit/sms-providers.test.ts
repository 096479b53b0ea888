import {
  AuthorizationErrorException,
  InternalErrorException,
  InvalidParameterException,
  InvalidParameterValueException,
  OptedOutException,
  ThrottledException,
} from '@aws-sdk/client-sns';
import { mkdtempSync } from 'node:fs';
import { IncomingMessage, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { httpOutcome, httpProvider } from '../../activities/sms/http';
import { SmsMessage, SmsPermanentError } from '../../activities/sms/provider';
import { isPermanentSnsError, snsProvider } from '../../activities/sms/sns';
import { loadConfig } from '../../lib/config';
import { defaultSmsProviders } from '../../lib/stack';
import { MOTO_ENV } from '../support/moto';

const MESSAGE: SmsMessage = {
  to: '+15550100001',
  body: 'Your acme verification code is 123456. It expires in 5 minutes.',
  org: 'acme',
  scenario: 'MOBILE_VERIFICATION_ON_UPDATE',
  userId: 'u1',
};

interface Seen {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A loopback HTTP server answering with `answer`; records every request it gets. */
async function fakeServer(answer: (seen: Seen, res: ServerResponse, index: number) => void) {
  const requests: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const seen = { headers: req.headers, body };
      requests.push(seen);
      answer(seen, res, requests.length - 1);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

const snsOk = (res: ServerResponse, id = 'sns-id-1') => {
  res.writeHead(200, { 'Content-Type': 'text/xml' });
  res.end(
    `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${id}</MessageId></PublishResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></PublishResponse>`,
  );
};
const snsError = (res: ServerResponse, status: number, code: string, message: string) => {
  res.writeHead(status, { 'Content-Type': 'text/xml' });
  res.end(
    `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>${status < 500 ? 'Sender' : 'Receiver'}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r1</RequestId></ErrorResponse>`,
  );
};

/** Whatever `promise` rejects with (the test fails if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

beforeAll(() => {
  for (const [name, value] of Object.entries(MOTO_ENV)) vi.stubEnv(name, value);
});
afterAll(() => {
  vi.unstubAllEnvs();
});

describe('SNS error classification', () => {
  const meta = { $metadata: {} };
  it.each([
    ['InvalidParameter', new InvalidParameterException({ message: 'Invalid parameter: PhoneNumber', ...meta })],
    ['InvalidParameterValue', new InvalidParameterValueException({ message: 'bad value', ...meta })],
    ['OptedOut', new OptedOutException({ message: 'opted out', ...meta })],
  ])('%s is permanent', (_name, error) => {
    expect(isPermanentSnsError(error)).toBe(true);
  });

  it.each([
    ['Throttled', new ThrottledException({ message: 'slow down', ...meta })],
    ['InternalError', new InternalErrorException({ message: 'oops', ...meta })],
    ['AuthorizationError', new AuthorizationErrorException({ message: 'denied', ...meta })],
    ['a network error', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })],
    ['a timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' })],
  ])('%s is retried', (_name, error) => {
    expect(isPermanentSnsError(error)).toBe(false);
  });
});

describe('SNS provider on the wire', () => {
  it('publishes to the number, transactional, with the sender id, and returns the MessageId', async () => {
    const sns = await fakeServer((_seen, res) => snsOk(res, 'mid-42'));
    try {
      const sent = await snsProvider({ region: 'us-east-1', endpoint: sns.url, senderId: 'Acme' }).send(MESSAGE);
      expect(sent).toEqual({ messageId: 'mid-42' });
      expect(sns.requests).toHaveLength(1);
      const form = Object.fromEntries(new URLSearchParams(sns.requests[0]!.body));
      expect(form).toMatchObject({ Action: 'Publish', PhoneNumber: MESSAGE.to, Message: MESSAGE.body });
      const attributes = Object.fromEntries(
        [1, 2].map((i) => [
          form[`MessageAttributes.entry.${i}.Name`],
          [form[`MessageAttributes.entry.${i}.Value.DataType`], form[`MessageAttributes.entry.${i}.Value.StringValue`]],
        ]),
      );
      expect(attributes).toEqual({
        'AWS.SNS.SMS.SMSType': ['String', 'Transactional'],
        'AWS.SNS.SMS.SenderID': ['String', 'Acme'],
      });
      expect(sns.requests[0]!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=testing\//);
    } finally {
      await sns.close();
    }
  });

  it("uses the org's sender id from the message over the configured one", async () => {
    const sns = await fakeServer((_seen, res) => snsOk(res));
    try {
      await snsProvider({ region: 'us-east-1', endpoint: sns.url, senderId: 'Acme' }).send({
        ...MESSAGE,
        senderId: 'Bifrost',
      });
      expect(sns.requests[0]!.body).toContain('Bifrost');
      expect(sns.requests[0]!.body).not.toContain('Acme');
    } finally {
      await sns.close();
    }
  });

  it('sends no sender id when none is configured', async () => {
    const sns = await fakeServer((_seen, res) => snsOk(res));
    try {
      await snsProvider({ region: 'us-east-1', endpoint: sns.url }).send(MESSAGE);
      expect(sns.requests[0]!.body).not.toContain('SenderID');
    } finally {
      await sns.close();
    }
  });

  it('an opted-out number is a permanent refusal, asked once, and the error does not quote the number', async () => {
    const sns = await fakeServer((_seen, res) =>
      snsError(res, 400, 'OptedOut', `Phone number ${MESSAGE.to} is opted out`),
    );
    try {
      const error = await rejection(snsProvider({ region: 'us-east-1', endpoint: sns.url }).send(MESSAGE));
      expect(error).toBeInstanceOf(SmsPermanentError);
      expect(error.message).toContain('OptedOutException');
      expect(error.message).not.toContain('5550100001');
      expect(sns.requests).toHaveLength(1);
    } finally {
      await sns.close();
    }
  });

  it.each([
    ['a 500 InternalError', 500, 'InternalError'],
    ['a 429 Throttled', 429, 'Throttled'],
  ])('%s is a retryable error after the SDK tried twice', async (_name, status, code) => {
    const sns = await fakeServer((_seen, res) => snsError(res, status, code, 'try later'));
    try {
      const error = await rejection(snsProvider({ region: 'us-east-1', endpoint: sns.url }).send(MESSAGE));
      expect(error).not.toBeInstanceOf(SmsPermanentError);
      expect(error.message).toMatch(/^SNS publish failed/);
      expect(sns.requests).toHaveLength(2);
    } finally {
      await sns.close();
    }
  });

  it('a server that never answers is a retryable timeout, bounded in time', async () => {
    const sns = await fakeServer(() => undefined);
    try {
      const started = Date.now();
      const error = await rejection(
        snsProvider({ region: 'us-east-1', endpoint: sns.url, timeoutMs: 300 }).send(MESSAGE),
      );
      expect(error).not.toBeInstanceOf(SmsPermanentError);
      expect(error.name).toBe('Error');
      expect(error.message).toMatch(/TimeoutError/);
      expect(sns.requests).toHaveLength(2);
      expect(Date.now() - started).toBeLessThan(1_500);
    } finally {
      await sns.close();
    }
  });
});

describe('HTTP provider', () => {
  it.each([
    [200, 'sent'],
    [202, 'sent'],
    [400, 'permanent'],
    [404, 'permanent'],
    [422, 'permanent'],
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [503, 'retry'],
    [401, 'retry'],
  ])('HTTP %i means %s', (status, outcome) => {
    expect(httpOutcome(status)).toBe(outcome);
  });

  it('a 2xx without a JSON messageId still counts as sent, with a generated id', async () => {
    const gateway = await fakeServer((_seen, res) => res.writeHead(204).end());
    try {
      const { messageId } = await httpProvider({ url: gateway.url, token: 't', timeoutMs: 1_000 }).send(MESSAGE);
      expect(messageId).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await gateway.close();
    }
  });

  it('a gateway that never answers is a retryable timeout', async () => {
    const gateway = await fakeServer(() => undefined);
    try {
      const error = await rejection(httpProvider({ url: gateway.url, token: 't', timeoutMs: 200 }).send(MESSAGE));
      expect(error).not.toBeInstanceOf(SmsPermanentError);
      expect(error.message).toBe('SMS gateway unreachable: no answer within 200 ms');
    } finally {
      await gateway.close();
    }
  });

  it('a closed port is a retryable network error', async () => {
    const gateway = await fakeServer(() => undefined);
    await gateway.close();
    const error = await rejection(httpProvider({ url: gateway.url, token: 't', timeoutMs: 1_000 }).send(MESSAGE));
    expect(error).not.toBeInstanceOf(SmsPermanentError);
    expect(error.message).toMatch(/^SMS gateway unreachable: .*ECONNREFUSED/);
  });

  it('a refusal names the status only, never what the gateway said', async () => {
    const gateway = await fakeServer((_seen, res) =>
      res
        .writeHead(422, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ error: `bad number ${MESSAGE.to}` })),
    );
    try {
      const error = await rejection(httpProvider({ url: gateway.url, token: 't', timeoutMs: 1_000 }).send(MESSAGE));
      expect(error).toBeInstanceOf(SmsPermanentError);
      expect(error.message).toBe('SMS gateway refused the SMS: HTTP 422');
    } finally {
      await gateway.close();
    }
  });
});

describe('SMS configuration', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'mv-sms-config-'));

  it('defaults: SNS in us-east-1 on the SDK endpoint; no http provider without a URL', () => {
    const config = loadConfig({ DATA_DIR: dir() });
    expect(config.sns).toEqual({ region: 'us-east-1', endpoint: undefined, senderId: undefined });
    expect(config.smsHttp).toBeUndefined();
    expect(Object.keys(defaultSmsProviders(config)).sort()).toEqual(['aws-sns', 'outbox']);
  });

  it('SMS_HTTP_URL adds the http provider', () => {
    const config = loadConfig({
      DATA_DIR: dir(),
      SMS_HTTP_URL: 'http://127.0.0.1:9/sms',
      SMS_HTTP_TOKEN: 'secret',
      SMS_PROVIDER: 'http',
    });
    expect(config.smsHttp).toEqual({ url: 'http://127.0.0.1:9/sms', token: 'secret', timeoutMs: 5_000 });
    expect(config.policyDefaults.smsProvider).toBe('http');
    expect(Object.keys(defaultSmsProviders(config)).sort()).toEqual(['aws-sns', 'http', 'outbox']);
  });

  it('reads region, endpoint and sender id', () => {
    const config = loadConfig({
      DATA_DIR: dir(),
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL_SNS: 'http://127.0.0.1:5000',
      SMS_SENDER_ID: 'Acme',
    });
    expect(config.sns).toEqual({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:5000', senderId: 'Acme' });
  });

  it.each([
    [{ SMS_HTTP_URL: 'http://127.0.0.1:9/sms' }, /SMS_HTTP_URL needs SMS_HTTP_TOKEN/],
    [{ SMS_PROVIDER: 'http' }, /SMS_PROVIDER=http needs SMS_HTTP_URL/],
    [{ SMS_SENDER_ID: 'Too Long Sender' }, /SMS_SENDER_ID/],
    [{ SMS_HTTP_TIMEOUT_MS: '60000' }, /SMS_HTTP_TIMEOUT_MS/],
    [{ AWS_ENDPOINT_URL_SNS: 'not a url' }, /AWS_ENDPOINT_URL_SNS/],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig({ DATA_DIR: dir(), ...env })).toThrowError(message);
  });
});
