/**
 * Typed errors for user mistakes and unavailable dependencies. Handlers throw them; one Koa
 * middleware turns each into the response body of its route family (SCIM or identity API).
 */

export type ScimType =
  | 'invalidSyntax'
  | 'invalidPath'
  | 'invalidValue'
  | 'invalidFilter'
  | 'noTarget'
  | 'mutability'
  | 'uniqueness'
  | 'tooMany'
  | 'invalidVers';

/** A SCIM protocol error (RFC 7644 §3.12). */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly scimType: ScimType | undefined,
    readonly detail: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(detail);
    this.name = 'ScimError';
  }
}

/** An error of the identity API (`/api/...`), with the reference's numeric or UAR codes. */
export class IdentityError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly description: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'IdentityError';
  }
}

/** Authentication (401) or authorization (403) failure; the body follows the route family. */
export class AuthError extends Error {
  constructor(
    readonly status: 401 | 403,
    message: string,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

/** A dependency (Postgres, Temporal) cannot be reached: 503 with Retry-After, nothing applied. */
export class UnavailableError extends Error {
  constructor(
    readonly dependency: 'postgres' | 'temporal',
    message: string,
  ) {
    super(message);
    this.name = 'UnavailableError';
  }
}

export const invalidValue = (detail: string) => new ScimError(400, 'invalidValue', detail);
export const invalidPath = (detail: string) => new ScimError(400, 'invalidPath', detail);
export const invalidSyntax = (detail: string) => new ScimError(400, 'invalidSyntax', detail);
