export const PRIMARY_UPDATE = 'MOBILE_VERIFICATION_ON_UPDATE';
export const VERIFIED_LIST_UPDATE = 'MOBILE_VERIFICATION_ON_VERIFIED_LIST_UPDATE';

export const SCENARIOS = [PRIMARY_UPDATE, VERIFIED_LIST_UPDATE] as const;
export type Scenario = (typeof SCENARIOS)[number];

export function isScenario(value: unknown): value is Scenario {
  return typeof value === 'string' && (SCENARIOS as readonly string[]).includes(value);
}

/** Final and intermediate statuses of a verification, as operators see them. */
export const STATUSES = [
  'code_sent',
  'send_failed',
  'verified',
  'superseded',
  'cancelled',
  'expired',
  'failed',
] as const;
export type VerificationStatus = (typeof STATUSES)[number];

export const DEFAULT_ORG = 'carbon.super';

/** At most one verification runs per user and scenario; operators find it from the user id. */
export function verificationWorkflowId(org: string, userId: string, scenario: Scenario): string {
  return `mobile-verification/${org}/${userId}/${scenario}`;
}
