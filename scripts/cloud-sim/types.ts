/** Public types of the OpenStack cloud simulator. */

export type ServiceName = 'identity' | 'compute' | 'network' | 'image';
/** 'sim' covers the `/_sim` control routes and paths outside every service prefix. */
export type RecordedService = ServiceName | 'sim';

export interface SimUser {
  name: string;
  password: string;
  /** Defaults to a stable id derived from the name. */
  id?: string;
  /** Project the user is a member of (and scoped to by default). Default 'admin'. */
  project?: string;
}

export interface SimApplicationCredential {
  id: string;
  name?: string;
  secret: string;
  /** Owner's user name; default 'admin'. The credential is scoped to the owner's project. */
  user?: string;
}

export interface CloudSimOptions {
  /** Loopback only: '127.0.0.1' (default), '::1' or 'localhost'. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  region?: string;
  /** BUILD -> ACTIVE delay; default 1000. */
  bootDelayMs?: number;
  /** A deleted server stays listed (task_state 'deleting') this long; default 0. */
  deleteDelayMs?: number;
  tokenTtlSeconds?: number;
  /** false: no 'network' catalog entry and every Neutron route answers 404. Default true. */
  networkService?: boolean;
  /**
   * Default limits of every project: instances (100), cores (1000), ram in MB (1,024,000),
   * floatingIps (50). Cores and ram take -1 for unlimited.
   */
  quotas?: { instances?: number; cores?: number; ram?: number; floatingIps?: number };
  /** Password of the default 'admin' user (ignored when `users` is given). Default 'sim-password'. */
  password?: string;
  users?: SimUser[];
  applicationCredentials?: SimApplicationCredential[];
  /** Security groups each project has besides its 'default' one (Neutron creates that always). Default none. */
  securityGroups?: string[];
  /** Nova availability zones, each with three compute hosts; the first is where servers boot by default. Default ['nova']. */
  availabilityZones?: string[];
  /** Tenant networks besides private (10.0.0.0/24) and public: the n-th gets 10.<n>.0.0/24. Default none. */
  networks?: string[];
  /** Seed for fault rules' `rate` draws when a rule has no seed of its own. Default 1. */
  seed?: number;
  /** Called once per answered request (the CLI logs these to stderr). */
  onRequest?: (record: RequestRecord) => void;
}

export interface RequestRecord {
  service: RecordedService;
  method: string;
  /** Path inside the service prefix, e.g. '/v2.1/servers' for '/compute/v2.1/servers'; no query. */
  path: string;
  /** 0 while unanswered, and for requests a fault reset or left hanging. */
  status: number;
  /** Epoch milliseconds of arrival. */
  at: number;
}

export interface SimServerNetwork {
  networkId: string;
  networkName: string;
  portId: string;
  fixedIp: string;
  macAddress: string;
}

export interface SimServer {
  id: string;
  name: string;
  status: string;
  vmState: string;
  taskState: string | null;
  powerState: number;
  imageId: string;
  flavorId: string;
  keyName: string | null;
  availabilityZone: string;
  /** The compute host Nova placed it on (server groups' policies decide among a zone's three). */
  host: string;
  /** Names of its security groups. */
  securityGroups: string[];
  metadata: Record<string, string>;
  userData: string | null;
  serverGroup: string | null;
  networks: SimServerNetwork[];
  /** Floating addresses visible on the server right now. */
  floatingIps: string[];
  fault: { code: number; message: string; created: string } | null;
  created: string;
}

export interface SimFloatingIp {
  id: string;
  address: string;
  networkId: string;
  description: string;
  /** Association as reads show it now. */
  portId: string | null;
  /** Same as portId, under Neutron's name. */
  port_id: string | null;
  serverId: string | null;
  fixedIp: string | null;
  /** Association accepted but not yet visible (see floatingIpAssociation). */
  pendingPortId: string | null;
  status: 'ACTIVE' | 'DOWN';
}

export type FaultEffect =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { delayMs: number }
  | { reset: true }
  | { hang: true };

export interface FaultRule {
  service?: ServiceName;
  method?: string;
  /** Regular expression source, tested against the service path ('/v2.1/servers') and the full path ('/compute/v2.1/servers'). */
  path?: string;
  /** Probability 0..1 that a matching request is hit; default 1. */
  rate?: number;
  /** Apply at most this many times. */
  times?: number;
  /** Seed of this rule's own random sequence for `rate`. */
  seed?: number;
  effect: FaultEffect;
}

export interface FaultRuleInfo extends FaultRule {
  id: string;
  /** How many times the rule fired so far. */
  applied: number;
}

export interface ServerOutcomeRule {
  /** Regular expression source tested against the server name; absent matches every server. */
  namePattern?: string;
  outcome: 'active' | 'error' | 'stuck-build';
  /** Fault message shown for 'error'; default Nova's "No valid host was found. ..." */
  faultMessage?: string;
  /** Overrides the cloud's bootDelayMs for matching servers. */
  bootDelayMs?: number;
}

export type FloatingIpAssociationBehaviour = 'immediate' | 'never' | { delayMs: number };

export interface FaultController {
  /** Returns the rule id ('fault-N'). Throws TypeError on an invalid rule. */
  add(rule: FaultRule): string;
  /** Removes a fault rule or a server-outcome rule by id; false when unknown. */
  remove(id: string): boolean;
  /** Removes every fault rule and server-outcome rule and sets association back to 'immediate'. */
  clear(): void;
  list(): FaultRuleInfo[];
  /** Rules are tried in the order added; the first whose pattern matches decides. Returns 'outcome-N'. */
  serverOutcome(rule: ServerOutcomeRule): string;
  floatingIpAssociation(behaviour: FloatingIpAssociationBehaviour): void;
}

export interface SimCounts {
  servers: number;
  floatingIps: number;
  ports: number;
  tokens: number;
}

export interface CloudSim {
  /** e.g. http://127.0.0.1:PORT */
  url: string;
  /** url + '/identity/v3' */
  authUrl: string;
  env: Record<string, string>;
  counts(): SimCounts;
  servers(): SimServer[];
  floatingIps(): SimFloatingIp[];
  requests(): RequestRecord[];
  requestCounts(): Record<string, number>;
  /** Every token id issued since start (or reset), expired ones included: for leak checks in logs. */
  issuedTokens(): string[];
  faults: FaultController;
  expireTokens(): void;
  reset(): void;
  close(): Promise<void>;
}
