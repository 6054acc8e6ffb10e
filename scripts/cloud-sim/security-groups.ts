/**
 * Neutron's security groups and rules. Nova's server create resolves POOL_SECURITY_GROUPS
 * against this same store, so what `openstack security group list` shows is what a boot accepts.
 */
import { newUuid } from './ids';

export type Direction = 'ingress' | 'egress';
export type Ethertype = 'IPv4' | 'IPv6';

export interface SecurityGroupRecord {
  id: string;
  name: string;
  description: string;
  projectId: string;
  stateful: boolean;
  /** The project's 'default' group: created by Neutron, never deletable. */
  isDefault: boolean;
  createdAt: number;
  updatedAt: number;
  revision: number;
}

export interface SecurityGroupRuleRecord {
  id: string;
  securityGroupId: string;
  projectId: string;
  direction: Direction;
  ethertype: Ethertype;
  /** Lower-case name ('tcp') or a number as text ('6'); null for any protocol. */
  protocol: string | null;
  portRangeMin: number | null;
  portRangeMax: number | null;
  remoteIpPrefix: string | null;
  remoteGroupId: string | null;
  description: string;
  createdAt: number;
  updatedAt: number;
  revision: number;
}

export type NewSecurityGroupRule = Omit<SecurityGroupRuleRecord, 'id' | 'createdAt' | 'updatedAt' | 'revision'>;

export type SecurityGroupLookup =
  { kind: 'found'; group: SecurityGroupRecord } | { kind: 'missing' } | { kind: 'ambiguous' };

/** The fields that make two rules the same rule (Neutron's duplicate check). */
const RULE_IDENTITY = [
  'securityGroupId',
  'direction',
  'ethertype',
  'protocol',
  'portRangeMin',
  'portRangeMax',
  'remoteIpPrefix',
  'remoteGroupId',
] as const;

export class SecurityGroupStore {
  /** Insertion order is creation order, the order Neutron lists them in. */
  readonly groups = new Map<string, SecurityGroupRecord>();
  readonly rules = new Map<string, SecurityGroupRuleRecord>();

  /** `extraNames`: groups each project has besides 'default' (the simulator's securityGroups option). */
  constructor(private readonly extraNames: readonly string[]) {}

  /**
   * Neutron creates a project's 'default' group on the project's first request; the simulator
   * creates it, and the configured extra groups, up front.
   */
  seed(projectIds: readonly string[], now: number): void {
    this.groups.clear();
    this.rules.clear();
    for (const projectId of projectIds) {
      // The 'default' group lets its members reach each other and anything reach out.
      const fallback = this.addGroup({ name: 'default', description: 'Default security group', projectId }, now, true);
      for (const ethertype of ['IPv4', 'IPv6'] as const) {
        this.addRule(ruleFields(fallback, { direction: 'ingress', ethertype, remoteGroupId: fallback.id }), now);
        this.addRule(ruleFields(fallback, { direction: 'egress', ethertype }), now);
      }
      for (const name of this.extraNames) {
        if (name !== 'default') this.create({ name, description: '', projectId, stateful: true }, now);
      }
    }
  }

  ofProject(projectId: string): SecurityGroupRecord[] {
    return [...this.groups.values()].filter((g) => g.projectId === projectId);
  }

  rulesOfProject(projectId: string): SecurityGroupRuleRecord[] {
    return [...this.rules.values()].filter((r) => r.projectId === projectId);
  }

  /** Nova's lookup for a server's security group: an id first, then a name that must be unique. */
  resolve(projectId: string, ref: string): SecurityGroupLookup {
    const mine = this.ofProject(projectId);
    const byId = mine.find((g) => g.id === ref);
    if (byId) return { kind: 'found', group: byId };
    const named = mine.filter((g) => g.name === ref);
    if (named.length > 1) return { kind: 'ambiguous' };
    return named[0] ? { kind: 'found', group: named[0] } : { kind: 'missing' };
  }

  /** A new group comes with Neutron's two default egress rules (IPv4 and IPv6, anywhere). */
  create(
    fields: { name: string; description: string; projectId: string; stateful: boolean },
    now: number,
  ): SecurityGroupRecord {
    const group = this.addGroup(fields, now, false);
    for (const ethertype of ['IPv4', 'IPv6'] as const) {
      this.addRule(ruleFields(group, { direction: 'egress', ethertype }), now);
    }
    return group;
  }

  /** A PUT: the fields given (undefined ones stay as they are), one revision. */
  update(
    group: SecurityGroupRecord,
    fields: { name?: string; description?: string; stateful?: boolean },
    now: number,
  ): void {
    if (fields.name !== undefined) group.name = fields.name;
    if (fields.description !== undefined) group.description = fields.description;
    if (fields.stateful !== undefined) group.stateful = fields.stateful;
    this.touch(group, now);
  }

  /** Removes the group, its rules, and other groups' rules that name it as remote group (a cascade in Neutron's schema). */
  delete(group: SecurityGroupRecord): void {
    for (const rule of [...this.rules.values()]) {
      if (rule.securityGroupId === group.id || rule.remoteGroupId === group.id) this.rules.delete(rule.id);
    }
    this.groups.delete(group.id);
  }

  rulesOf(groupId: string): SecurityGroupRuleRecord[] {
    return [...this.rules.values()].filter((r) => r.securityGroupId === groupId);
  }

  duplicateOf(candidate: NewSecurityGroupRule): SecurityGroupRuleRecord | undefined {
    return [...this.rules.values()].find((rule) => RULE_IDENTITY.every((key) => rule[key] === candidate[key]));
  }

  addRule(fields: NewSecurityGroupRule, now: number): SecurityGroupRuleRecord {
    const rule: SecurityGroupRuleRecord = { ...fields, id: newUuid(), createdAt: now, updatedAt: now, revision: 0 };
    this.rules.set(rule.id, rule);
    this.touch(this.groups.get(rule.securityGroupId), now);
    return rule;
  }

  deleteRule(rule: SecurityGroupRuleRecord, now: number): void {
    this.rules.delete(rule.id);
    this.touch(this.groups.get(rule.securityGroupId), now);
  }

  /** A change to the group or its rules: a new revision and update time. */
  private touch(group: SecurityGroupRecord | undefined, now: number): void {
    if (!group) return;
    group.updatedAt = now;
    group.revision += 1;
  }

  private addGroup(
    fields: { name: string; description: string; projectId: string; stateful?: boolean },
    now: number,
    isDefault: boolean,
  ): SecurityGroupRecord {
    const group: SecurityGroupRecord = {
      id: newUuid(),
      name: fields.name,
      description: fields.description,
      projectId: fields.projectId,
      stateful: fields.stateful ?? true,
      isDefault,
      createdAt: now,
      updatedAt: now,
      revision: 1,
    };
    this.groups.set(group.id, group);
    return group;
  }
}

function ruleFields(
  group: SecurityGroupRecord,
  fields: { direction: Direction; ethertype: Ethertype; remoteGroupId?: string },
): NewSecurityGroupRule {
  return {
    securityGroupId: group.id,
    projectId: group.projectId,
    direction: fields.direction,
    ethertype: fields.ethertype,
    protocol: null,
    portRangeMin: null,
    portRangeMax: null,
    remoteIpPrefix: null,
    remoteGroupId: fields.remoteGroupId ?? null,
    description: '',
  };
}
