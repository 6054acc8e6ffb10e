/**
 * Nova's server groups. Server create checks `os:scheduler_hints.group` (POOL_SERVER_GROUP_ID)
 * against this store and places the server by the group's policy.
 */
import { newUuid } from './ids';

export const SERVER_GROUP_POLICIES = ['anti-affinity', 'affinity', 'soft-anti-affinity', 'soft-affinity'] as const;
export type ServerGroupPolicy = (typeof SERVER_GROUP_POLICIES)[number];

export interface ServerGroupRecord {
  id: string;
  name: string;
  policy: ServerGroupPolicy;
  /** Microversion 2.64's rules; only anti-affinity takes one, max_server_per_host. */
  rules: { max_server_per_host?: number };
  projectId: string;
  userId: string;
  /** Ids of the servers booted into the group, in boot order. */
  members: string[];
}

export class ServerGroupStore {
  readonly groups = new Map<string, ServerGroupRecord>();

  create(fields: Omit<ServerGroupRecord, 'id' | 'members'>): ServerGroupRecord {
    const group: ServerGroupRecord = { ...fields, id: newUuid(), members: [] };
    this.groups.set(group.id, group);
    return group;
  }

  /** Groups a project sees: Nova scopes server groups to the project. */
  ofProject(projectId: string): ServerGroupRecord[] {
    return [...this.groups.values()].filter((g) => g.projectId === projectId);
  }

  visible(id: string, projectId: string): ServerGroupRecord | undefined {
    const group = this.groups.get(id);
    return group && group.projectId === projectId ? group : undefined;
  }

  delete(id: string): void {
    this.groups.delete(id);
  }

  /** A deleted server leaves its group. */
  removeMember(serverId: string): void {
    for (const group of this.groups.values()) group.members = group.members.filter((m) => m !== serverId);
  }

  clear(): void {
    this.groups.clear();
  }
}
