import { BUILT_IN_POLICY } from '../domain/policy';
import { SCENARIOS } from '../domain/scenarios';

/**
 * OpenAPI 3.1 for the routes that are not SCIM (SCIM describes itself through /scim2/Schemas).
 * Served at /openapi.json; the tests check real responses against these schemas.
 */
const error = {
  type: 'object',
  required: ['code', 'message', 'description', 'traceId'],
  properties: {
    code: { type: 'string', examples: ['18001', '18002', 'UAR-10011', 'MV-42901', 'MV-42902'] },
    message: { type: 'string' },
    description: { type: 'string' },
    traceId: { type: 'string', format: 'uuid' },
  },
  additionalProperties: false,
};

const properties = {
  type: 'array',
  maxItems: 10,
  items: {
    type: 'object',
    required: ['key', 'value'],
    properties: {
      key: { type: 'string', examples: ['RecoveryScenario'] },
      value: { type: 'string', enum: [...SCENARIOS] },
    },
  },
};

const policyProperties = Object.fromEntries(
  Object.entries(BUILT_IN_POLICY).map(([key, value]) => [
    key,
    { type: typeof value === 'number' ? 'integer' : typeof value },
  ]),
);

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const withOrg = (paths: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(paths).flatMap(([path, item]) => [
      [path, item],
      [
        `/t/{org}${path}`,
        { ...(item as object), parameters: [{ name: 'org', in: 'path', required: true, schema: { type: 'string' } }] },
      ],
    ]),
  );

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'mobile-verify',
    version: '1.0.0',
    description:
      'Verification of mobile numbers on update: the identity API beside SCIM 2.0. Every path also exists under /t/{org}.',
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    schemas: {
      Error: error,
      ValidateCodeRequest: {
        type: 'object',
        required: ['code'],
        properties: { code: { type: 'string', pattern: '^\\s*[0-9A-Za-z]{4,10}\\s*$' }, properties },
      },
      ValidateCodeResponse: {
        type: 'object',
        required: ['scenario', 'mobile'],
        properties: { scenario: { type: 'string', enum: [...SCENARIOS] }, mobile: { type: 'string' } },
        additionalProperties: false,
      },
      ResendCodeRequest: { type: 'object', properties: { properties } },
      ResendCodeResponse: {
        type: 'object',
        required: ['scenario'],
        properties: { scenario: { type: 'string', enum: [...SCENARIOS] } },
        additionalProperties: false,
      },
      Policy: {
        type: 'object',
        required: Object.keys(BUILT_IN_POLICY),
        properties: policyProperties,
        additionalProperties: false,
      },
      PolicyChange: { type: 'object', properties: policyProperties, additionalProperties: false },
      AuditTrail: {
        type: 'object',
        required: ['userId', 'events'],
        properties: {
          userId: { type: 'string' },
          events: {
            type: 'array',
            items: {
              type: 'object',
              required: ['at', 'event'],
              properties: {
                at: { type: 'string', format: 'date-time' },
                event: { type: 'string' },
                scenario: { type: 'string' },
                maskedNumber: { type: 'string', pattern: '^\\*{6}[0-9]{0,4}$' },
                actor: { type: 'string' },
                changeId: { type: 'string' },
                requestId: { type: 'string' },
                detail: { type: 'object' },
              },
              additionalProperties: false,
            },
          },
        },
      },
      Health: {
        type: 'object',
        required: ['status', 'postgres', 'temporal'],
        properties: {
          status: { type: 'string', enum: ['ok', 'degraded'] },
          postgres: { type: 'string', enum: ['ok', 'down'] },
          temporal: { type: 'string', enum: ['ok', 'down'] },
        },
        additionalProperties: false,
      },
      Payloads: {
        type: 'object',
        required: ['payloads'],
        properties: {
          payloads: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                metadata: { type: 'object', additionalProperties: { type: 'string' } },
                data: { type: 'string' },
              },
            },
          },
        },
      },
    },
  },
  paths: withOrg({
    '/api/identity/user/v1.0/me/validate-code': {
      post: {
        summary: "Submit the SMS code of the caller's pending change",
        security: [{ bearer: ['internal_login'] }],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/ValidateCodeRequest' } } },
        },
        responses: {
          '200': {
            description: 'Verified: the number is committed',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/ValidateCodeResponse' } } },
          },
          '400': errorResponse('18001 wrong code, 18002 expired, UAR-10011 nothing pending, UAR-10000 malformed'),
          '401': errorResponse('Missing or bad token'),
          '403': errorResponse('Another org, or no scope'),
          '429': errorResponse('MV-42901 too many wrong codes; MV-42903 too many requests from this address'),
        },
      },
    },
    '/api/identity/user/v1.0/me/resend-code': {
      post: {
        summary: 'Send a fresh code to the number pending now',
        security: [{ bearer: ['internal_login'] }],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/ResendCodeRequest' } } },
        },
        responses: {
          '201': {
            description: 'Sent; earlier codes are dead',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/ResendCodeResponse' } } },
          },
          '400': errorResponse('UAR-10011 nothing pending or scenario needed, MV-40010 provider refused the number'),
          '429': errorResponse('MV-42902 cooldown, resend limit or hourly SMS cap; see Retry-After'),
        },
      },
    },
    '/api/server/v1/mobile-verification/policy': {
      get: {
        summary: "The org's effective policy",
        security: [{ bearer: ['internal_governance_view'] }],
        responses: {
          '200': {
            description: 'Policy',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Policy' } } },
          },
        },
      },
      patch: {
        summary: 'Change some fields of the policy; applies to verifications started afterwards',
        security: [{ bearer: ['internal_governance_update'] }],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/PolicyChange' } } },
        },
        responses: {
          '200': {
            description: 'The new effective policy',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Policy' } } },
          },
          '400': errorResponse('A value out of range or an unknown field'),
        },
      },
    },
    '/api/server/v1/mobile-verification/audit/{userId}': {
      get: {
        summary: "A user's audit trail: masked numbers, never codes",
        security: [{ bearer: ['internal_governance_view'] }],
        parameters: [{ name: 'userId', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': {
            description: 'Events, oldest first',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/AuditTrail' } } },
          },
        },
      },
    },
    '/codec/decode': {
      post: {
        summary: 'Remote codec for the Temporal Web UI: decrypt payloads',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Payloads' } } },
        },
        responses: {
          '200': {
            description: 'Decoded payloads',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Payloads' } } },
          },
        },
      },
    },
    '/codec/encode': {
      post: {
        summary: 'Remote codec for the Temporal Web UI: encrypt payloads',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Payloads' } } },
        },
        responses: {
          '200': {
            description: 'Encoded payloads',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Payloads' } } },
          },
        },
      },
    },
    '/health': {
      get: {
        summary: 'Postgres and Temporal reachable?',
        responses: {
          '200': {
            description: 'All up',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Health' } } },
          },
          '503': {
            description: 'Something is down',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Health' } } },
          },
        },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics',
        responses: { '200': { description: 'Text format 0.0.4', content: { 'text/plain': {} } } },
      },
    },
  }),
};
