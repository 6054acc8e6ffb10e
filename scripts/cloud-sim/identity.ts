/** Keystone v3: version discovery and /v3/auth/tokens (password, application_credential, token). */
import { ApiError, keystoneErrorBody } from './errors';
import { buildCatalog, SERVICE_PREFIXES } from './context';
import type { CloudContext } from './context';
import { headerValue, isObject, json, matchRoute, noContent, parseJson, route } from './http';
import type { Route, SimReply, SimRequest } from './http';
import { ROLES } from './directory';
import type { ApplicationCredential, Project, User } from './directory';
import { isoMicros } from './time-format';
import type { Token } from './tokens';

const UNAUTHORIZED = 'The request you have made requires authentication.';
const MALFORMED_TAIL =
  'The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.';

function unauthorized(): ApiError {
  return new ApiError(401, UNAUTHORIZED);
}

function expecting(attribute: string, target: string): ApiError {
  return new ApiError(400, `Expecting to find ${attribute} in ${target}. ${MALFORMED_TAIL}`);
}

function invalidInput(field: string, message: string): ApiError {
  return new ApiError(400, `Invalid input for field '${field}': ${message}`);
}

function v3VersionDoc(identityUrl: string): Record<string, unknown> {
  return {
    id: 'v3.14',
    status: 'stable',
    updated: '2020-04-07T00:00:00Z',
    links: [{ rel: 'self', href: `${identityUrl}/v3/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  };
}

interface Authenticated {
  user: User;
  project: Project;
  methods: string[];
  applicationCredential?: ApplicationCredential;
}

export class IdentityService {
  private readonly routes: Route<SimRequest>[];

  constructor(private readonly ctx: CloudContext) {
    this.routes = [
      route('GET', '/', () => json(300, { versions: { values: [v3VersionDoc(this.identityUrl())] } })),
      route('GET', '/v3', () => json(200, { version: v3VersionDoc(this.identityUrl()) })),
      route('POST', '/v3/auth/tokens', (request) => this.issueToken(request)),
      route('GET', '/v3/auth/tokens', (request) => this.validateToken(request)),
      route('DELETE', '/v3/auth/tokens', (request) => this.revokeToken(request)),
      route('GET', '/v3/auth/catalog', (request) =>
        this.withCaller(request, () => json(200, { catalog: buildCatalog(this.ctx), links: this.selfLinks(request) })),
      ),
      route('GET', '/v3/auth/projects', (request) => this.listProjects(request)),
      route('GET', '/v3/projects', (request) => this.listAllProjects(request)),
      route('GET', '/v3/projects/{id}', (request, [id]) => this.showProject(request, id ?? '')),
    ];
  }

  async handle(request: SimRequest): Promise<SimReply> {
    const reply = await this.dispatch(request);
    return { ...reply, headers: { Vary: 'X-Auth-Token', ...reply.headers } };
  }

  private async dispatch(request: SimRequest): Promise<SimReply> {
    try {
      const match = matchRoute(this.routes, request.method, request.path);
      if (match.kind === 'not-found') throw new ApiError(404, 'The resource could not be found.');
      if (match.kind === 'method-not-allowed')
        throw new ApiError(405, 'The method is not allowed for the requested URL.');
      return await match.route.handle(request, match.params);
    } catch (error) {
      if (error instanceof ApiError) {
        const headers: Record<string, string> =
          error.status === 401 ? { 'WWW-Authenticate': `Keystone uri="${this.identityUrl()}"` } : {};
        return json(error.status, keystoneErrorBody(error.status, error.message), headers);
      }
      throw error;
    }
  }

  private identityUrl(): string {
    return this.ctx.baseUrl() + SERVICE_PREFIXES.identity;
  }

  private selfLinks(request: SimRequest): Record<string, string | null> {
    return { self: `${this.identityUrl()}${request.path}`, previous: null, next: null };
  }

  private withCaller(request: SimRequest, answer: (caller: Token) => SimReply): SimReply {
    const caller = this.ctx.tokens.valid(headerValue(request, 'x-auth-token'), this.ctx.now());
    if (!caller) throw unauthorized();
    return answer(caller);
  }

  private issueToken(request: SimRequest): SimReply {
    const parsed = parseJson(request);
    if (!parsed.ok) throw expecting('valid JSON', 'request body');
    const body = parsed.value;
    if (!isObject(body) || !isObject(body.auth)) throw invalidInput('auth', "'auth' is a required property");
    const auth = body.auth;
    if (!isObject(auth.identity)) throw invalidInput('auth', "'identity' is a required property");
    const identity = auth.identity;
    const methods = identity.methods;
    if (!Array.isArray(methods) || methods.length === 0 || !methods.every((m) => typeof m === 'string')) {
      throw invalidInput('identity', "'methods' is a required property");
    }
    const authenticated = this.authenticate(identity, methods as string[], auth.scope);
    const token = this.ctx.tokens.issue(
      {
        userId: authenticated.user.id,
        projectId: authenticated.project.id,
        methods: authenticated.methods,
        ...(authenticated.applicationCredential
          ? { applicationCredentialId: authenticated.applicationCredential.id }
          : {}),
      },
      this.ctx.now(),
    );
    const includeCatalog = !request.query.has('nocatalog');
    return json(201, this.tokenBody(token, includeCatalog), { 'X-Subject-Token': token.id });
  }

  private authenticate(identity: Record<string, unknown>, methods: string[], scope: unknown): Authenticated {
    const method = methods[0];
    if (methods.length !== 1 || (method !== 'password' && method !== 'application_credential' && method !== 'token')) {
      throw new ApiError(401, 'Attempted to authenticate with an unsupported method.');
    }
    const section = identity[method];
    if (!isObject(section)) throw expecting(method, 'identity');
    if (method === 'application_credential') {
      if (scope !== undefined) throw unauthorized();
      return this.byApplicationCredential(section);
    }
    const user = method === 'password' ? this.byPassword(section) : this.byToken(section);
    return { user, project: this.scopedProject(user, scope), methods: [method] };
  }

  private byPassword(section: Record<string, unknown>): User {
    const userRef = section.user;
    if (!isObject(userRef)) throw expecting('user', 'password');
    const user = this.resolveUser(userRef);
    if (!user || userRef.password !== user.password) throw unauthorized();
    return user;
  }

  private byToken(section: Record<string, unknown>): User {
    const token = this.ctx.tokens.valid(typeof section.id === 'string' ? section.id : undefined, this.ctx.now());
    const user = token ? this.ctx.directory.userById(token.userId) : undefined;
    if (!user) throw unauthorized();
    return user;
  }

  private byApplicationCredential(section: Record<string, unknown>): Authenticated {
    const directory = this.ctx.directory;
    let credential: ApplicationCredential | undefined;
    if (typeof section.id === 'string') {
      credential = directory.applicationCredentialById(section.id);
    } else if (typeof section.name === 'string') {
      if (!isObject(section.user)) throw expecting('user', 'application credential');
      const owner = this.resolveUser(section.user);
      credential = owner ? directory.applicationCredentialByName(section.name, owner.id) : undefined;
    } else {
      throw expecting('id or name', 'application credential');
    }
    if (typeof section.secret !== 'string') throw expecting('secret', 'application credential');
    if (!credential || credential.secret !== section.secret) throw unauthorized();
    const user = directory.userById(credential.userId);
    const project = directory.projectById(credential.projectId);
    if (!user || !project) throw unauthorized();
    return { user, project, methods: ['application_credential'], applicationCredential: credential };
  }

  /** A user named by id, or by name plus a domain named by id or name. */
  private resolveUser(ref: Record<string, unknown>): User | undefined {
    const directory = this.ctx.directory;
    if (typeof ref.id === 'string') return directory.userById(ref.id);
    if (typeof ref.name !== 'string') throw expecting('id or name', 'user');
    if (!isObject(ref.domain)) throw expecting('domain', 'user');
    const domain = directory.domainByRef(ref.domain);
    return domain ? directory.userByName(ref.name, domain.id) : undefined;
  }

  private scopedProject(user: User, scope: unknown): Project {
    const directory = this.ctx.directory;
    if (scope === undefined || scope === 'unscoped') {
      // The user's default project scopes a request that names none.
      const project = directory.projectById(user.projectId);
      if (!project) throw unauthorized();
      return project;
    }
    if (!isObject(scope)) throw invalidInput('auth', "'scope' must be an object");
    // Domain and system scopes need role assignments the simulator does not model.
    if (!isObject(scope.project)) throw unauthorized();
    const ref = scope.project;
    let project: Project | undefined;
    if (typeof ref.id === 'string') {
      project = directory.projectById(ref.id);
    } else if (typeof ref.name === 'string') {
      if (!isObject(ref.domain)) throw expecting('domain', 'project');
      const domain = directory.domainByRef(ref.domain);
      project = domain ? directory.projectByName(ref.name, domain.id) : undefined;
    } else {
      throw expecting('id or name', 'project');
    }
    if (!project || project.id !== user.projectId) throw unauthorized();
    return project;
  }

  private validateToken(request: SimRequest): SimReply {
    return this.withCaller(request, () => {
      const subject = headerValue(request, 'x-subject-token') ?? '';
      const token = this.ctx.tokens.valid(subject, this.ctx.now());
      if (!token) throw new ApiError(404, `Could not find token: ${subject}.`);
      return json(200, this.tokenBody(token, !request.query.has('nocatalog')), { 'X-Subject-Token': token.id });
    });
  }

  private revokeToken(request: SimRequest): SimReply {
    return this.withCaller(request, () => {
      const subject = headerValue(request, 'x-subject-token') ?? '';
      if (!this.ctx.tokens.valid(subject, this.ctx.now())) throw new ApiError(404, `Could not find token: ${subject}.`);
      this.ctx.tokens.revoke(subject);
      return noContent();
    });
  }

  private projectView(project: Project): Record<string, unknown> {
    return {
      id: project.id,
      name: project.name,
      domain_id: project.domainId,
      enabled: true,
      is_domain: false,
      parent_id: project.domainId,
      description: '',
      tags: [],
      options: {},
      links: { self: `${this.identityUrl()}/v3/projects/${project.id}` },
    };
  }

  /** The projects the caller's token may be scoped to. */
  private listProjects(request: SimRequest): SimReply {
    return this.withCaller(request, (caller) => {
      const project = this.ctx.directory.projectById(caller.projectId);
      return json(200, { projects: project ? [this.projectView(project)] : [], links: this.selfLinks(request) });
    });
  }

  /** GET /v3/projects with Keystone's name, domain_id and enabled filters (every user holds the admin role). */
  private listAllProjects(request: SimRequest): SimReply {
    return this.withCaller(request, () => {
      const query = request.query;
      const name = query.get('name');
      const domainId = query.get('domain_id');
      const enabled = query.get('enabled');
      const projects = this.ctx.directory.projects.filter(
        (p) =>
          (name === null || p.name === name) &&
          (domainId === null || p.domainId === domainId) &&
          (enabled === null || ['1', 'true', 'yes'].includes(enabled.toLowerCase())),
      );
      return json(200, { projects: projects.map((p) => this.projectView(p)), links: this.selfLinks(request) });
    });
  }

  private showProject(request: SimRequest, id: string): SimReply {
    return this.withCaller(request, () => {
      const project = this.ctx.directory.projectById(id);
      if (!project) throw new ApiError(404, `Could not find project: ${id}.`);
      return json(200, { project: this.projectView(project) });
    });
  }

  private tokenBody(token: Token, includeCatalog: boolean): Record<string, unknown> {
    const directory = this.ctx.directory;
    const user = directory.userById(token.userId);
    const project = directory.projectById(token.projectId);
    const userDomain = directory.domainById(user?.domainId ?? 'default');
    const projectDomain = directory.domainById(project?.domainId ?? 'default');
    const body: Record<string, unknown> = {
      methods: token.methods,
      user: {
        domain: { id: userDomain.id, name: userDomain.name },
        id: token.userId,
        name: user?.name ?? '',
        password_expires_at: null,
      },
      audit_ids: [token.auditId],
      expires_at: isoMicros(token.expiresAt),
      issued_at: isoMicros(token.issuedAt),
      project: {
        domain: { id: projectDomain.id, name: projectDomain.name },
        id: token.projectId,
        name: project?.name ?? '',
      },
      is_domain: false,
      roles: ROLES.map((role) => ({ id: role.id, name: role.name })),
    };
    if (token.applicationCredentialId) {
      const credential = directory.applicationCredentialById(token.applicationCredentialId);
      body.application_credential = {
        id: token.applicationCredentialId,
        name: credential?.name ?? '',
        restricted: true,
      };
    }
    if (includeCatalog) body.catalog = buildCatalog(this.ctx);
    return { token: body };
  }
}
