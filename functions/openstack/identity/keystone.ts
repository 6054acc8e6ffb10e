/**
 * Keystone v3: the token request body and the module-scope token cache shared by every
 * client of the process (a warm Lambda builds a new client per invocation but must not log
 * in again). The token's catalog is read by catalog.ts.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { ConfigurationError } from '../../../contract/errors';
import { AuthenticationError } from '../errors';
import type { HttpClient } from '../http';
import { asObject, asString, field } from '../json';
import type { JsonObject } from '../json';
import type { AuthSettings } from '../types';
import { parseCatalog } from './catalog';
import type { CatalogService } from './catalog';

export interface Token {
  value: string;
  /** Local epoch ms after which the token is not used any more. */
  refreshAt: number;
  projectId: string | undefined;
  catalog: CatalogService[];
}

/** Refresh a token this long before it expires, or 10% of its lifetime if that is shorter. */
export const TOKEN_EXPIRY_MARGIN_MS = 60_000;

const tokenCache = new Map<string, Token>();
const inflight = new Map<string, Promise<Token>>();
/** Keys the secret's fingerprint in the cache key; never leaves the process. */
const fingerprintKey = randomBytes(32);

/** Forgets every cached token and in-flight authentication (tests). */
export function clearTokenCache(): void {
  tokenCache.clear();
  inflight.clear();
}

/** `https://host:5000`, `.../`, `.../v3`, `.../v2.0` all become `https://host:5000/v3`. */
export function normaliseAuthUrl(authUrl: string): string {
  const trimmed = authUrl.trim().replace(/\/+$/, '');
  if (!trimmed) throw new ConfigurationError('auth URL is empty', 'OS_AUTH_URL');
  if (/\/v3$/.test(trimmed)) return trimmed;
  return trimmed.replace(/\/v2\.0$/, '') + '/v3';
}

function secretOf(auth: AuthSettings): string {
  return auth.method === 'password' ? auth.password : auth.applicationCredentialSecret;
}

export function tokenCacheKey(auth: AuthSettings): string {
  const fingerprint = createHmac('sha256', fingerprintKey).update(secretOf(auth)).digest('hex').slice(0, 32);
  const parts =
    auth.method === 'password'
      ? [
          auth.userId,
          auth.username,
          auth.userDomainId,
          auth.userDomainName,
          auth.projectId,
          auth.projectName,
          auth.projectDomainId,
          auth.projectDomainName,
        ]
      : [auth.applicationCredentialId, auth.applicationCredentialName, auth.username, auth.userDomainName];
  return JSON.stringify([normaliseAuthUrl(auth.authUrl), auth.method, ...parts.map((p) => p ?? null), fingerprint]);
}

function domainRef(id: string | undefined, name: string | undefined): JsonObject | undefined {
  if (id) return { id };
  if (name) return { name };
  return undefined;
}

/** The body of `POST /v3/auth/tokens`; ConfigurationError names what is missing. */
export function authRequestBody(auth: AuthSettings): JsonObject {
  if (auth.method === 'applicationCredential') {
    let credential: JsonObject;
    if (auth.applicationCredentialId) {
      credential = { id: auth.applicationCredentialId, secret: auth.applicationCredentialSecret };
    } else if (auth.applicationCredentialName) {
      if (!auth.username)
        throw new ConfigurationError('an application credential name needs a username (OS_USERNAME)', 'OS_USERNAME');
      if (!auth.userDomainName) {
        throw new ConfigurationError(
          'an application credential name needs a user domain name (OS_USER_DOMAIN_NAME)',
          'OS_USER_DOMAIN_NAME',
        );
      }
      credential = {
        name: auth.applicationCredentialName,
        secret: auth.applicationCredentialSecret,
        user: { name: auth.username, domain: { name: auth.userDomainName } },
      };
    } else {
      throw new ConfigurationError(
        'application credential auth needs an id or a name (OS_APPLICATION_CREDENTIAL_ID)',
        'OS_APPLICATION_CREDENTIAL_ID',
      );
    }
    return { auth: { identity: { methods: ['application_credential'], application_credential: credential } } };
  }

  const userDomain = domainRef(auth.userDomainId, auth.userDomainName);
  let user: JsonObject;
  if (auth.userId) {
    user = { id: auth.userId, password: auth.password };
  } else if (auth.username) {
    if (!userDomain) {
      throw new ConfigurationError(
        'a username needs a user domain (OS_USER_DOMAIN_NAME or OS_USER_DOMAIN_ID)',
        'OS_USER_DOMAIN_NAME',
      );
    }
    user = { name: auth.username, domain: userDomain, password: auth.password };
  } else {
    throw new ConfigurationError('password auth needs a username or a user id (OS_USERNAME)', 'OS_USERNAME');
  }
  const body: JsonObject = { identity: { methods: ['password'], password: { user } } };
  if (auth.projectId) {
    body.scope = { project: { id: auth.projectId } };
  } else if (auth.projectName) {
    // Like an openrc without OS_PROJECT_DOMAIN_*: the project lives in the user's domain.
    const projectDomain = domainRef(auth.projectDomainId, auth.projectDomainName) ?? userDomain;
    if (!projectDomain) {
      throw new ConfigurationError(
        'a project name needs a project domain (OS_PROJECT_DOMAIN_NAME or OS_PROJECT_DOMAIN_ID)',
        'OS_PROJECT_DOMAIN_NAME',
      );
    }
    body.scope = { project: { name: auth.projectName, domain: projectDomain } };
  }
  return { auth: body };
}

function parseTime(value: unknown): number | undefined {
  const text = asString(value);
  if (!text) return undefined;
  // An ISO time without a zone is UTC in OpenStack; HTTP dates carry their own zone.
  const isoWithoutZone = /^\d{4}-\d\d-\d\dT[\d:.]+$/.test(text);
  const ms = Date.parse(isoWithoutZone ? `${text}Z` : text);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * When to stop using a token, in local time. The remaining lifetime is measured against the
 * server's `Date` header when there is one, so a skewed local clock does not matter.
 */
export function refreshTime(options: {
  expiresAt: number;
  issuedAt: number | undefined;
  serverNow: number | undefined;
  localNow: number;
}): number {
  const { expiresAt, issuedAt, serverNow, localNow } = options;
  const remaining = expiresAt - (serverNow ?? localNow);
  const lifetime = issuedAt !== undefined && issuedAt < expiresAt ? expiresAt - issuedAt : remaining;
  const margin = Math.min(TOKEN_EXPIRY_MARGIN_MS, Math.max(0, lifetime) * 0.1);
  return localNow + remaining - margin;
}

export class Keystone {
  /** `.../v3` stripped off: requests go to `{base}/v3/auth/tokens`. */
  private readonly baseUrl: string;
  private readonly key: string;

  constructor(
    private readonly auth: AuthSettings,
    private readonly http: HttpClient,
    private readonly now: () => number = Date.now,
  ) {
    this.baseUrl = normaliseAuthUrl(auth.authUrl).replace(/\/v3$/, '');
    this.key = tokenCacheKey(auth);
  }

  /** A valid token: the cached one, the one being fetched by a concurrent caller, or a new one. */
  token(): Promise<Token> {
    const cached = tokenCache.get(this.key);
    if (cached && this.now() < cached.refreshAt) return Promise.resolve(cached);
    const pending = inflight.get(this.key);
    if (pending) return pending;
    const fresh = this.authenticate().finally(() => {
      if (inflight.get(this.key) === fresh) inflight.delete(this.key);
    });
    inflight.set(this.key, fresh);
    return fresh;
  }

  /** Drops `token` from the cache after a 401 (unless another caller already replaced it). */
  invalidate(token: Token): void {
    if (tokenCache.get(this.key)?.value === token.value) tokenCache.delete(this.key);
  }

  /** The credential itself, for redaction. */
  secret(): string {
    return secretOf(this.auth);
  }

  /** The cached token's value, for redaction. */
  currentTokenValue(): string | undefined {
    return tokenCache.get(this.key)?.value;
  }

  private async authenticate(): Promise<Token> {
    const path = '/v3/auth/tokens';
    const res = await this.http.send({
      service: 'Keystone',
      method: 'POST',
      baseUrl: this.baseUrl,
      path,
      body: authRequestBody(this.auth),
      // Asking for a token twice creates nothing that needs cleaning up.
      retry: true,
    });
    const header = res.headers['x-subject-token'];
    const value = Array.isArray(header) ? header[0] : header;
    const token = asObject(field(res.body, 'token'));
    const expiresAt = parseTime(token?.expires_at);
    if (!value || !token || expiresAt === undefined) {
      throw new AuthenticationError(
        `Keystone POST ${path} returned ${res.status} without a token (X-Subject-Token header and token.expires_at)`,
        { service: 'Keystone', method: 'POST', path, status: res.status },
      );
    }
    const dateHeader = res.headers.date;
    const serverNow = typeof dateHeader === 'string' ? parseTime(dateHeader) : undefined;
    const fresh: Token = {
      value,
      refreshAt: refreshTime({ expiresAt, issuedAt: parseTime(token.issued_at), serverNow, localNow: this.now() }),
      projectId: asString(field(token.project, 'id')),
      catalog: parseCatalog(token.catalog),
    };
    tokenCache.set(this.key, fresh);
    return fresh;
  }
}
