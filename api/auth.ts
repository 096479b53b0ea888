import { JWTPayload, SignJWT, createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { AuthError } from '../domain/errors';
import type { AuthInfo } from './http';

export interface TokenVerifier {
  verify(token: string): Promise<AuthInfo>;
}

const CLOCK_TOLERANCE_SECONDS = 30;

function toAuthInfo(payload: JWTPayload): AuthInfo {
  const org = payload.org_name;
  if (typeof payload.sub !== 'string' || payload.sub === '' || typeof org !== 'string' || org === '') {
    throw new AuthError(401, 'The token needs sub and org_name claims');
  }
  const scope = typeof payload.scope === 'string' ? payload.scope : '';
  return { sub: payload.sub, org, scopes: new Set(scope.split(' ').filter(Boolean)) };
}

/**
 * Development tokens: HS256 with the local secret. Only HS256 is accepted, so `alg: none` and
 * algorithm confusion fail here like any bad signature.
 */
export function devVerifier(secret: Buffer): TokenVerifier {
  return {
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, secret, {
          algorithms: ['HS256'],
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
        });
        return toAuthInfo(payload);
      } catch (error) {
        if (error instanceof AuthError) throw error;
        throw new AuthError(401, 'The bearer token is invalid or expired');
      }
    },
  };
}

/** Asymmetric algorithms only: a token signed with HS256 using the public key as secret fails. */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/**
 * Production tokens: signatures checked against the identity provider's JWKS, with issuer and
 * audience. jose caches the key set and fetches it again when a token names an unknown key id,
 * so a key rotation at the provider needs no restart.
 */
export function jwksVerifier(opts: {
  url: string;
  issuer: string;
  audience: string;
  cooldownMs?: number;
}): TokenVerifier {
  const keys = createRemoteJWKSet(new URL(opts.url), {
    cooldownDuration: opts.cooldownMs ?? 30_000,
    cacheMaxAge: 600_000,
    timeoutDuration: 5_000,
  });
  return {
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, keys, {
          issuer: opts.issuer,
          audience: opts.audience,
          algorithms: JWKS_ALGORITHMS,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
        });
        return toAuthInfo(payload);
      } catch (error) {
        if (error instanceof AuthError) throw error;
        if (error instanceof errors.JWKSTimeout)
          throw new AuthError(401, 'The key set of the identity provider could not be fetched');
        throw new AuthError(401, 'The bearer token is invalid or expired');
      }
    },
  };
}

export async function mintDevToken(
  secret: Buffer,
  claims: { org: string; sub: string; scope: string; expiresIn?: string },
): Promise<string> {
  return new SignJWT({ org_name: claims.org, scope: claims.scope })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setIssuer('mobile-verify-dev')
    .setExpirationTime(claims.expiresIn ?? '1h')
    .sign(secret);
}

export function bearerToken(header: string | undefined): string {
  const match = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)$/i.exec(header ?? '');
  if (!match) throw new AuthError(401, 'Send Authorization: Bearer <token>');
  return match[1]!;
}
