import { JWTPayload, SignJWT, jwtVerify } from 'jose';
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
        const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'], clockTolerance: CLOCK_TOLERANCE_SECONDS });
        return toAuthInfo(payload);
      } catch (error) {
        if (error instanceof AuthError) throw error;
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
