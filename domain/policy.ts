import { z } from 'zod';

/**
 * The per-org verification policy. One zod schema yields the validation, the TypeScript type
 * and the defaults. Durations are whole seconds.
 */
export const policySchema = z
  .object({
    enabled: z.boolean(),
    multipleNumbers: z.boolean(),
    codeLength: z.number().int().min(4).max(10),
    codeCharset: z.enum(['digits', 'alphanumeric']),
    codeTtl: z.number().int().min(10).max(86_400),
    pendingTtl: z
      .number()
      .int()
      .min(60)
      .max(30 * 86_400),
    maxAttemptsPerCode: z.number().int().min(1).max(20),
    maxAttemptsPerChange: z.number().int().min(1).max(100),
    resendCooldown: z.number().int().min(0).max(3_600),
    maxResends: z.number().int().min(0).max(20),
    allowAdminBypass: z.boolean(),
    smsPerUserPerHour: z.number().int().min(1).max(1_000),
    smsPerOrgPerHour: z.number().int().min(1).max(10_000_000),
    smsTemplate: z
      .string()
      .min(1)
      .max(480)
      .refine((t) => t.includes('{code}'), 'smsTemplate must contain {code}'),
    smsProvider: z.enum(['outbox', 'aws-sns', 'http']),
    /** Shown as the sender where the provider supports it (SNS); else SMS_SENDER_ID. */
    smsSenderId: z
      .string()
      .regex(/^[A-Za-z0-9]{1,11}$/, 'smsSenderId is 1 to 11 letters or digits')
      .optional(),
  })
  .strict();

export type Policy = z.infer<typeof policySchema>;

/** A partial policy as an org stores it, or as PATCH sends it. */
export const policyOverrideSchema = policySchema.partial().strict();
export type PolicyOverride = z.infer<typeof policyOverrideSchema>;

export const BUILT_IN_POLICY: Policy = {
  enabled: true,
  multipleNumbers: true,
  codeLength: 6,
  codeCharset: 'digits',
  codeTtl: 300,
  pendingTtl: 86_400,
  maxAttemptsPerCode: 5,
  maxAttemptsPerChange: 10,
  resendCooldown: 30,
  maxResends: 5,
  allowAdminBypass: false,
  smsPerUserPerHour: 10,
  smsPerOrgPerHour: 10_000,
  smsTemplate: 'Your {org} verification code is {code}. It expires in {minutes} minutes.',
  smsProvider: 'outbox',
};

/** The effective policy: defaults from configuration, then the org's own overrides. */
export function effectivePolicy(defaults: Policy, override: PolicyOverride | undefined): Policy {
  return { ...defaults, ...policyOverrideSchema.parse(override ?? {}) };
}

/** Text of the SMS; the code appears only here. */
export function renderSms(template: string, values: { code: string; org: string; ttlSeconds: number }) {
  return template
    .replaceAll('{code}', values.code)
    .replaceAll('{org}', values.org)
    .replaceAll('{minutes}', String(Math.max(1, Math.round(values.ttlSeconds / 60))));
}
