/**
 * Pure helpers shared by the API and the workflow bundle. Nothing here may import zod or
 * anything with I/O: the workflow sandbox loads this file.
 */

/** Seconds to wait after the n-th send (n from 1) before a resend; grows by half each time. */
export function cooldownAfterSend(resendCooldown: number, sends: number): number {
  return Math.round(resendCooldown * Math.pow(1.5, Math.max(0, sends - 1)));
}

/** The only form of a number that logs, audit rows and search attributes may hold. */
export function maskNumber(raw: string): string {
  const digits = raw.replace(/[^0-9]/g, '');
  return `******${digits.slice(-4)}`;
}
