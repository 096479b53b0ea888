import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import Koa from 'koa';
import { AuditEventRow, Database } from '../db';
import { AuthError, IdentityError, ScimError } from '../domain/errors';
import { applyPatch } from '../domain/patch';
import { policyOverrideSchema } from '../domain/policy';
import { readResource } from '../domain/resource';
import { DEFAULT_ORG } from '../domain/scenarios';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { TokenVerifier, bearerToken } from './auth';
import { Codes } from './codes';
import { runCodec } from './codec';
import { EncryptionCodec } from '../lib/codec';
import { registry } from '../lib/metrics';
import { AppContext, errorsAndLogs, readJson } from './http';
import { openApiDocument } from './openapi';
import { PolicyStore } from './policies';
import { WindowLimiter } from './ratelimit';
import { MAX_RESULTS, listResponse, schemaDoc, schemaDocs, serviceProviderConfig, userResourceType } from './discovery';
import { matchesUser, parseListFilter, project } from './query';
import { etagOf, locationOf, toScim } from './representation';
import { Verifications } from './temporal';
import { ChangeRequest, StoredUser, Users } from './users';

export interface AppDeps {
  config: Pick<
    Config,
    | 'codeHashKey'
    | 'policyDefaults'
    | 'temporal'
    | 'auth'
    | 'payloadKeys'
    | 'codecCorsOrigins'
    | 'validatePerIpPerMinute'
    | 'publicBaseUrl'
  >;
  /** Names of the SMS providers this deployment has configured. */
  smsProviders: string[];
  db: Database;
  temporal: Client;
  verifier: TokenVerifier;
  logger: Logger;
}

interface Services {
  validateLimiter: WindowLimiter;
  users: Users;
  codes: Codes;
  policies: PolicyStore;
  deps: AppDeps;
}

type Handler = (ctx: AppContext, services: Services) => Promise<void>;

interface RouteDef {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  /** The scope a token needs; undefined for open routes (health, discovery). */
  scope?: string;
  /** No token needed in development (the Web UI of the dev server sends none). */
  openInDev?: boolean;
  handler: Handler;
}

const ORG_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Every route, its scope, and its handler, in one table: authentication, the org check and the
 * scope check happen in one place for all of them.
 */
export const ROUTES: RouteDef[] = [
  { method: 'post', path: '/scim2/Users', scope: 'internal_user_mgt_create', handler: createUser },
  { method: 'get', path: '/scim2/Users', scope: 'internal_user_mgt_list', handler: listUsers },
  {
    method: 'get',
    path: '/scim2/Users/:id',
    scope: 'internal_user_mgt_view',
    handler: (ctx, s) => getUser(ctx, s, ctx.params.id),
  },
  { method: 'delete', path: '/scim2/Users/:id', scope: 'internal_user_mgt_delete', handler: deleteUser },
  {
    method: 'put',
    path: '/scim2/Users/:id',
    scope: 'internal_user_mgt_update',
    handler: (ctx, s) => putUser(ctx, s, ctx.params.id, 'admin'),
  },
  {
    method: 'patch',
    path: '/scim2/Users/:id',
    scope: 'internal_user_mgt_update',
    handler: (ctx, s) => patchUser(ctx, s, ctx.params.id, 'admin'),
  },
  {
    method: 'get',
    path: '/scim2/ServiceProviderConfig',
    handler: async (ctx) => sendScim(ctx, serviceProviderConfig(baseOf(ctx))),
  },
  {
    method: 'get',
    path: '/scim2/ResourceTypes',
    handler: async (ctx) => sendScim(ctx, listResponse([userResourceType(baseOf(ctx))], 1)),
  },
  {
    method: 'get',
    path: '/scim2/ResourceTypes/User',
    handler: async (ctx) => sendScim(ctx, userResourceType(baseOf(ctx))),
  },
  {
    method: 'get',
    path: '/scim2/Schemas',
    handler: async (ctx) => sendScim(ctx, listResponse(schemaDocs(baseOf(ctx)), 3)),
  },
  {
    method: 'get',
    path: '/scim2/Schemas/:id',
    handler: async (ctx) => sendScim(ctx, schemaDoc(baseOf(ctx), ctx.params.id!)),
  },
  {
    method: 'get',
    path: '/scim2/Me',
    scope: 'internal_login',
    handler: (ctx, s) => getUser(ctx, s, ctx.state.auth!.sub),
  },
  {
    method: 'put',
    path: '/scim2/Me',
    scope: 'internal_login',
    handler: (ctx, s) => putUser(ctx, s, ctx.state.auth!.sub, 'self'),
  },
  {
    method: 'patch',
    path: '/scim2/Me',
    scope: 'internal_login',
    handler: (ctx, s) => patchUser(ctx, s, ctx.state.auth!.sub, 'self'),
  },
  { method: 'post', path: '/api/identity/user/v1.0/me/validate-code', scope: 'internal_login', handler: validateCode },
  { method: 'post', path: '/api/identity/user/v1.0/me/resend-code', scope: 'internal_login', handler: resendCode },
  {
    method: 'get',
    path: '/api/server/v1/mobile-verification/policy',
    scope: 'internal_governance_view',
    handler: getPolicy,
  },
  {
    method: 'patch',
    path: '/api/server/v1/mobile-verification/policy',
    scope: 'internal_governance_update',
    handler: patchPolicy,
  },
  {
    method: 'get',
    path: '/api/server/v1/mobile-verification/audit/:userId',
    scope: 'internal_governance_view',
    handler: getAudit,
  },
  {
    method: 'post',
    path: '/codec/decode',
    scope: 'internal_codec_decode',
    openInDev: true,
    handler: (ctx, s) => codec(ctx, s, 'decode'),
  },
  {
    method: 'post',
    path: '/codec/encode',
    scope: 'internal_codec_decode',
    openInDev: true,
    handler: (ctx, s) => codec(ctx, s, 'encode'),
  },
  { method: 'get', path: '/health', handler: health },
  { method: 'get', path: '/metrics', handler: metrics },
  { method: 'get', path: '/openapi.json', handler: async (ctx) => void (ctx.body = openApiDocument) },
];

export function createApp(deps: AppDeps): Koa {
  const verifications = new Verifications(deps.temporal, deps.config.temporal.taskQueue);
  const policies = new PolicyStore(deps.db.sequelize, deps.config.policyDefaults, deps.smsProviders);
  const services: Services = {
    validateLimiter: new WindowLimiter(deps.config.validatePerIpPerMinute, 60_000),
    users: new Users(deps.db, verifications, policies),
    codes: new Codes(verifications, deps.config.codeHashKey, deps.logger),
    policies,
    deps,
  };
  const app = new Koa();
  app.proxy = false;
  app.use(errorsAndLogs(deps.logger));
  app.use(codecCors(deps.config.codecCorsOrigins));

  const router = new Router();
  for (const route of ROUTES) {
    for (const prefix of ['', '/t/:org']) {
      router[route.method](prefix + route.path, async (ctx) => {
        const c = ctx as unknown as AppContext;
        c.state.org = ctx.params.org ?? DEFAULT_ORG;
        c.state.origin = deps.config.publicBaseUrl ?? `${ctx.protocol}://${ctx.host}`;
        if (!ORG_NAME.test(c.state.org)) throw new ScimError(404, undefined, 'Unknown organization');
        if (route.scope && !(route.openInDev && deps.config.auth.mode === 'dev'))
          await authorize(c, deps.verifier, route.scope);
        await route.handler(c, services);
      });
    }
  }
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: false }));
  return app;
}

async function authorize(ctx: AppContext, verifier: TokenVerifier, scope: string) {
  const auth = await verifier.verify(bearerToken(ctx.get('Authorization')));
  ctx.state.auth = auth;
  if (auth.org !== ctx.state.org) throw new AuthError(403, 'The token belongs to another organization');
  if (!auth.scopes.has(scope)) throw new AuthError(403, `The token lacks the scope ${scope}`);
}

// --- SCIM --------------------------------------------------------------------------------------

const originOf = (ctx: AppContext) => ctx.state.origin;
/** The URL prefix of the request's org: the root for the default org, else /t/{org}. */
const baseOf = (ctx: AppContext) =>
  ctx.state.org === DEFAULT_ORG ? originOf(ctx) : `${originOf(ctx)}/t/${encodeURIComponent(ctx.state.org)}`;

function sendScim(ctx: AppContext, body: unknown, status = 200) {
  ctx.status = status;
  ctx.type = 'application/scim+json';
  ctx.body = body;
}

function representation(ctx: AppContext, stored: StoredUser) {
  return toScim(stored.user, stored.pending, locationOf(originOf(ctx), ctx.state.org, stored.user.id));
}

function sendUser(ctx: AppContext, stored: StoredUser, status = 200) {
  const body = representation(ctx, stored);
  ctx.set('ETag', etagOf(stored.user));
  if (status === 201) ctx.set('Location', (body.meta as { location: string }).location);
  sendScim(ctx, project(body, queryParam(ctx, 'attributes'), queryParam(ctx, 'excludedAttributes')), status);
}

function queryParam(ctx: AppContext, name: string): string | undefined {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw new ScimError(400, 'invalidValue', `${name} given more than once`);
  return value;
}

function intParam(ctx: AppContext, name: string, fallback: number): number {
  const raw = queryParam(ctx, name);
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?[0-9]{1,9}$/.test(raw)) throw new ScimError(400, 'invalidValue', `${name} must be an integer`);
  return Number(raw);
}

/** GET /Users: filter, then page (RFC 7644 §3.4.2). */
async function listUsers(ctx: AppContext, { users }: Services) {
  const filter = parseListFilter(queryParam(ctx, 'filter'));
  const startIndex = Math.max(1, intParam(ctx, 'startIndex', 1));
  const count = Math.min(MAX_RESULTS, Math.max(0, intParam(ctx, 'count', MAX_RESULTS)));
  const all = (await users.all(ctx.state.org)).map((stored) => representation(ctx, stored));
  const matched = filter ? all.filter((u) => matchesUser(filter, u)) : all;
  const page = matched.slice(startIndex - 1, startIndex - 1 + count);
  const attributes = queryParam(ctx, 'attributes');
  const excluded = queryParam(ctx, 'excludedAttributes');
  sendScim(
    ctx,
    listResponse(
      page.map((u) => project(u, attributes, excluded)),
      matched.length,
      startIndex,
    ),
  );
}

async function deleteUser(ctx: AppContext, { users }: Services) {
  await users.remove(
    ctx.state.org,
    ctx.params.id!,
    ctx.state.auth!.sub,
    ctx.state.traceId,
    ctx.get('If-Match') || undefined,
  );
  ctx.status = 204;
}

async function createUser(ctx: AppContext, { users }: Services) {
  const body = await readJson(ctx);
  sendUser(ctx, await users.create(ctx.state.org, body, ctx.state.auth!.sub, ctx.state.traceId), 201);
}

async function getUser(ctx: AppContext, { users }: Services, userId: string) {
  sendUser(ctx, await users.get(ctx.state.org, userId));
}

async function putUser(ctx: AppContext, services: Services, userId: string, via: 'admin' | 'self') {
  const next = readResource(await readJson(ctx));
  await changeUser(ctx, services, userId, via, () => ({ next, touched: 'all' }));
}

async function patchUser(ctx: AppContext, services: Services, userId: string, via: 'admin' | 'self') {
  const body = await readJson(ctx);
  await changeUser(ctx, services, userId, via, (current) => {
    const { doc, touched } = applyPatch(current, body);
    return { next: doc, touched };
  });
}

/** PUT and PATCH differ only in how they compute the asked-for user; the rules are shared. */
async function changeUser(
  ctx: AppContext,
  { users }: Services,
  userId: string,
  via: 'admin' | 'self',
  compute: ChangeRequest['compute'],
) {
  const changed = await users.change({
    org: ctx.state.org,
    userId,
    via,
    actor: ctx.state.auth!.sub,
    requestId: ctx.state.traceId,
    ifMatch: ctx.get('If-Match') || undefined,
    compute,
  });
  sendUser(ctx, changed);
}

// --- Identity API ------------------------------------------------------------------------------

function caller(ctx: AppContext) {
  return { org: ctx.state.org, userId: ctx.state.auth!.sub, requestId: ctx.state.traceId };
}

async function validateCode(ctx: AppContext, { codes, validateLimiter }: Services) {
  const wait = validateLimiter.take(ctx.ip);
  if (wait > 0)
    throw new IdentityError(
      429,
      'MV-42903',
      'Too many requests',
      `Too many codes from this address; try again in ${wait} s`,
      wait,
    );
  const body = await readJson(ctx);
  ctx.body = await codes.validate(caller(ctx), body);
}

async function resendCode(ctx: AppContext, { codes }: Services) {
  const body = await readJson(ctx);
  ctx.status = 201;
  ctx.body = await codes.resend(caller(ctx), body);
}

async function getPolicy(ctx: AppContext, { policies }: Services) {
  ctx.body = await policies.get(ctx.state.org);
}

async function patchPolicy(ctx: AppContext, { policies }: Services) {
  const body = await readJson(ctx);
  const parsed = policyOverrideSchema.safeParse(body);
  if (!parsed.success) {
    throw new ScimError(
      400,
      'invalidValue',
      parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    );
  }
  ctx.body = await policies.patch(ctx.state.org, parsed.data);
}

/** A user's audit trail, oldest first: masked numbers, never codes. */
async function getAudit(ctx: AppContext) {
  const rows = await AuditEventRow.findAll({
    where: { org: ctx.state.org, userId: ctx.params.userId },
    order: [['id', 'ASC']],
    limit: 1000,
  });
  ctx.body = {
    userId: ctx.params.userId,
    events: rows.map((r) => ({
      at: r.at.toISOString(),
      event: r.event,
      scenario: r.scenario ?? undefined,
      maskedNumber: r.maskedNumber ?? undefined,
      actor: r.actor ?? undefined,
      changeId: r.changeId ?? undefined,
      requestId: r.requestId ?? undefined,
      detail: r.detail ?? undefined,
    })),
  };
}

// --- Codec server for the Temporal Web UI -------------------------------------------------------

async function codec(ctx: AppContext, { deps }: Services, direction: 'encode' | 'decode') {
  const body = await readJson(ctx);
  ctx.body = await runCodec(new EncryptionCodec(deps.config.payloadKeys), direction, body);
}

/** The Web UI calls the codec from the browser: answer its preflight for the allowed origins. */
function codecCors(origins: string[]) {
  return async (ctx: AppContext, next: () => Promise<unknown>) => {
    const origin = ctx.get('Origin');
    if (!ctx.path.startsWith('/codec/') || !origins.includes(origin)) return next();
    ctx.set('Access-Control-Allow-Origin', origin);
    ctx.set('Vary', 'Origin');
    ctx.set('Access-Control-Allow-Credentials', 'true');
    if (ctx.method === 'OPTIONS') {
      ctx.set('Access-Control-Allow-Methods', 'POST');
      ctx.set('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-Namespace');
      ctx.status = 204;
      return;
    }
    return next();
  };
}

// --- Operations --------------------------------------------------------------------------------

async function metrics(ctx: AppContext) {
  ctx.type = registry.contentType;
  ctx.body = await registry.metrics();
}

async function health(ctx: AppContext, { deps }: Services) {
  const check = async (probe: () => Promise<unknown>) => {
    try {
      await Promise.race([
        probe(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
      ]);
      return 'ok';
    } catch {
      return 'down';
    }
  };
  const [postgres, temporal] = await Promise.all([
    check(() => deps.db.sequelize.query('SELECT 1')),
    check(() => deps.temporal.workflowService.getSystemInfo({})),
  ]);
  const ok = postgres === 'ok' && temporal === 'ok';
  ctx.status = ok ? 200 : 503;
  ctx.body = { status: ok ? 'ok' : 'degraded', postgres, temporal };
}
