import type { Context, Next } from 'koa';
import { ObjectNode, parse, traverse } from '@humanwhocodes/momoa';
import { randomUUID } from 'node:crypto';
import { ConnectionError } from 'sequelize';
import { AuthError, IdentityError, ScimError, UnavailableError } from '../domain/errors';
import { ERROR_SCHEMA } from '../domain/schema';
import type { Logger } from '../lib/logger';
import { requestDuration } from '../lib/metrics';

/** Which error body a route speaks: SCIM (`/scim2`) or the identity API (`/api`). */
export type RouteFamily = 'scim' | 'identity' | 'plain';

export interface AuthInfo {
  sub: string;
  org: string;
  scopes: Set<string>;
}

export interface RequestState {
  traceId: string;
  org: string;
  /** Where clients reach the API: PUBLIC_BASE_URL, else what the Host header says. */
  origin: string;
  family: RouteFamily;
  auth?: AuthInfo;
}

export type AppContext = Context & { state: RequestState };

const BODY_LIMIT = 256 * 1024;

function familyOf(path: string): RouteFamily {
  if (/^(\/t\/[^/]+)?\/scim2(\/|$)/.test(path)) return 'scim';
  if (/^(\/t\/[^/]+)?\/api(\/|$)/.test(path)) return 'identity';
  return 'plain';
}

function isUnavailable(error: unknown): UnavailableError | undefined {
  if (error instanceof UnavailableError) return error;
  if (error instanceof ConnectionError) return new UnavailableError('postgres', 'Postgres is unreachable');
  const name = (error as { name?: string })?.name ?? '';
  const code = (error as { code?: number })?.code;
  // gRPC UNAVAILABLE (14) and DEADLINE_EXCEEDED (4) from the Temporal client.
  if (name === 'ServiceError' || code === 14 || code === 4)
    return new UnavailableError('temporal', 'Temporal is unreachable');
  return undefined;
}

/**
 * The one place that turns errors into responses and logs each request once: 4xx messages are
 * shown to the caller, 5xx details stay in the log under the request's traceId.
 */
export function errorsAndLogs(logger: Logger) {
  return async (ctx: AppContext, next: Next) => {
    const started = performance.now();
    ctx.state.traceId = randomUUID();
    ctx.state.family = familyOf(ctx.path);
    ctx.set('X-Trace-Id', ctx.state.traceId);
    let failure: unknown;
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        respond(ctx, 404, undefined, `No route for ${ctx.method} ${ctx.path}`, 'UAR-10404');
      } else if (ctx.status === 405 || ctx.status === 501) {
        respond(
          ctx,
          ctx.status,
          undefined,
          `${ctx.method} is not supported here; allowed: ${ctx.response.get('Allow') || 'none'}`,
          'UAR-10405',
        );
      }
    } catch (error) {
      failure = error;
      renderError(ctx, error);
    } finally {
      const route = (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      requestDuration.observe(
        { method: ctx.method, route, status: String(ctx.status) },
        (performance.now() - started) / 1000,
      );
      const level = ctx.status >= 500 ? 'error' : 'info';
      logger[level](
        {
          traceId: ctx.state.traceId,
          method: ctx.method,
          route,
          status: ctx.status,
          org: ctx.state.org,
          userId: ctx.state.auth?.sub,
          durationMs: Math.round(performance.now() - started),
          ...(ctx.status >= 500 && failure
            ? { error: (failure as Error).message, stack: (failure as Error).stack }
            : {}),
        },
        'request',
      );
    }
  };
}

function renderError(ctx: AppContext, error: unknown) {
  if (error instanceof ScimError) {
    if (error.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(error.retryAfterSeconds));
    if (ctx.state.family === 'identity')
      return respond(ctx, error.status, 'INVALID_REQUEST', error.detail, 'UAR-10000');
    return respond(ctx, error.status, error.scimType, error.detail);
  }
  if (error instanceof IdentityError) {
    if (error.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(error.retryAfterSeconds));
    ctx.status = error.status;
    ctx.body = { code: error.code, message: error.message, description: error.description, traceId: ctx.state.traceId };
    return;
  }
  if (error instanceof AuthError) {
    if (error.status === 401) ctx.set('WWW-Authenticate', 'Bearer realm="mobile-verify"');
    return respond(ctx, error.status, undefined, error.message, error.status === 401 ? 'UAR-10401' : 'UAR-10403');
  }
  const unavailable = isUnavailable(error);
  if (unavailable) {
    ctx.set('Retry-After', '5');
    return respond(
      ctx,
      503,
      undefined,
      `${unavailable.dependency} is unavailable; nothing was applied, try again`,
      'MV-50300',
    );
  }
  const status = (error as { status?: number; expose?: boolean }).status;
  if (status && status >= 400 && status < 500 && (error as { expose?: boolean }).expose) {
    return respond(ctx, status, status === 400 ? 'invalidSyntax' : undefined, (error as Error).message, 'UAR-10000');
  }
  respond(ctx, 500, undefined, 'Internal error; the traceId identifies it in the logs', 'MV-50000');
}

function respond(ctx: AppContext, status: number, scimType: string | undefined, detail: string, code = 'UAR-10000') {
  ctx.status = status;
  if (ctx.state.family === 'scim') {
    ctx.type = 'application/scim+json';
    ctx.body = { schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail };
  } else {
    ctx.body = { code, message: httpMessage(status), description: detail, traceId: ctx.state.traceId };
  }
}

function httpMessage(status: number): string {
  return (
    {
      400: 'Bad request',
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'Not found',
      405: 'Method not allowed',
      409: 'Conflict',
      412: 'Precondition failed',
      413: 'Payload too large',
      415: 'Unsupported media type',
      429: 'Too many requests',
      503: 'Service unavailable',
    }[status] ?? 'Internal server error'
  );
}

/** Reads a JSON body: 413 past the limit, 415 for another media type, 400 for broken JSON. */
export async function readJson(ctx: AppContext): Promise<unknown> {
  const type = ctx.get('Content-Type');
  if (type && !/^application\/(scim\+)?json\b/i.test(type)) {
    throw new ScimError(415, undefined, 'Send application/scim+json or application/json');
  }
  const length = Number(ctx.get('Content-Length') || 0);
  if (length > BODY_LIMIT) throw new ScimError(413, undefined, `The body is larger than ${BODY_LIMIT} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw new ScimError(413, undefined, `The body is larger than ${BODY_LIMIT} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new ScimError(400, 'invalidSyntax', 'The request needs a JSON body');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new ScimError(400, 'invalidSyntax', `The body is not valid JSON: ${(error as Error).message}`);
  }
  checkJson(text, body);
  return body;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * What JSON.parse lets through but no client means: a key given twice (which value wins is
 * a guess), and text that cannot be stored (NUL, unpaired surrogates).
 */
function checkJson(text: string, body: unknown) {
  traverse(parse(text, { mode: 'json' }), {
    enter(node) {
      if (node.type !== 'Object') return;
      const seen = new Set<string>();
      for (const member of (node as ObjectNode).members) {
        const key = member.name.type === 'String' ? member.name.value : String(member.name);
        if (seen.has(key)) throw new ScimError(400, 'invalidSyntax', `The key "${key}" appears twice in one object`);
        seen.add(key);
      }
    },
  });
  const walk = (value: unknown): void => {
    if (typeof value === 'string') {
      if (value.includes('\u0000') || LONE_SURROGATE.test(value)) {
        throw new ScimError(400, 'invalidValue', 'Text may not hold NUL characters or unpaired surrogates');
      }
    } else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        walk(k);
        walk(v);
      }
    }
  };
  walk(body);
}
