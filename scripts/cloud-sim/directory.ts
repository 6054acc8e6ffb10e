/** Keystone's users, projects, domains, roles and application credentials. */
import { stableHexId } from './ids';
import type { SimApplicationCredential, SimUser } from './types';

export interface Domain {
  id: string;
  name: string;
}

export interface Project {
  id: string;
  name: string;
  domainId: string;
}

export interface User {
  id: string;
  name: string;
  password: string;
  domainId: string;
  projectId: string;
}

export interface ApplicationCredential {
  id: string;
  name: string;
  secret: string;
  userId: string;
  projectId: string;
}

export interface Role {
  id: string;
  name: string;
}

const DEFAULT_DOMAIN: Domain = { id: 'default', name: 'Default' };

export const ROLES: readonly Role[] = ['admin', 'member', 'reader'].map((name) => ({
  id: stableHexId(`role:${name}`),
  name,
}));

export class Directory {
  readonly domains: readonly Domain[] = [DEFAULT_DOMAIN];
  readonly projects: Project[] = [];
  readonly users: User[] = [];
  readonly applicationCredentials: ApplicationCredential[] = [];

  constructor(users: readonly SimUser[], credentials: readonly SimApplicationCredential[]) {
    for (const user of users) {
      const project = this.ensureProject(user.project ?? 'admin');
      this.users.push({
        id: user.id ?? stableHexId(`user:${user.name}`),
        name: user.name,
        password: user.password,
        domainId: DEFAULT_DOMAIN.id,
        projectId: project.id,
      });
    }
    for (const credential of credentials) {
      const owner = this.users.find((u) => u.name === (credential.user ?? 'admin')) ?? this.users[0];
      if (!owner) throw new TypeError('application credentials need at least one user');
      this.applicationCredentials.push({
        id: credential.id,
        name: credential.name ?? credential.id,
        secret: credential.secret,
        userId: owner.id,
        projectId: owner.projectId,
      });
    }
  }

  domainByRef(ref: { id?: unknown; name?: unknown }): Domain | undefined {
    if (typeof ref.id === 'string') return this.domains.find((d) => d.id === ref.id);
    if (typeof ref.name === 'string') return this.domains.find((d) => d.name === ref.name);
    return undefined;
  }

  domainById(id: string): Domain {
    return this.domains.find((d) => d.id === id) ?? DEFAULT_DOMAIN;
  }

  userById(id: string): User | undefined {
    return this.users.find((u) => u.id === id);
  }

  userByName(name: string, domainId: string): User | undefined {
    return this.users.find((u) => u.name === name && u.domainId === domainId);
  }

  projectById(id: string): Project | undefined {
    return this.projects.find((p) => p.id === id);
  }

  projectByName(name: string, domainId: string): Project | undefined {
    return this.projects.find((p) => p.name === name && p.domainId === domainId);
  }

  applicationCredentialById(id: string): ApplicationCredential | undefined {
    return this.applicationCredentials.find((c) => c.id === id);
  }

  applicationCredentialByName(name: string, userId: string): ApplicationCredential | undefined {
    return this.applicationCredentials.find((c) => c.name === name && c.userId === userId);
  }

  private ensureProject(name: string): Project {
    const existing = this.projectByName(name, DEFAULT_DOMAIN.id);
    if (existing) return existing;
    const project = { id: stableHexId(`project:${name}`), name, domainId: DEFAULT_DOMAIN.id };
    this.projects.push(project);
    return project;
  }
}
