/**
 * The OpenStack client's public shape, as the pool-manager core uses it. No Lambda types
 * here: this library runs in a function, a test or a script alike.
 */

export type Interface = 'public' | 'internal' | 'admin';

export type AuthSettings =
  | {
      method: 'password';
      authUrl: string;
      username?: string;
      userId?: string;
      password: string;
      userDomainName?: string;
      userDomainId?: string;
      projectName?: string;
      projectId?: string;
      projectDomainName?: string;
      projectDomainId?: string;
    }
  | {
      method: 'applicationCredential';
      authUrl: string;
      applicationCredentialId?: string;
      applicationCredentialName?: string;
      /** Needed with a credential name instead of an id. */
      username?: string;
      userDomainName?: string;
      applicationCredentialSecret: string;
    };

export interface CloudSettings {
  auth: AuthSettings;
  regionName?: string;
  interface: Interface;
  /** Endpoint overrides that bypass the catalog (the original's "bypass URL"), by service type. */
  endpointOverrides: Partial<Record<'compute' | 'network' | 'image', string>>;
  /** PEM bundle to trust for TLS (OS_CACERT). */
  caCertPem?: string;
  /** Skip TLS verification: only by explicit option; warned about once. */
  insecure: boolean;
  /** Per-request timeout (headers and body), milliseconds. */
  requestTimeoutMs: number;
  /** Extra attempts for idempotent requests on 429, 5xx, timeouts and dropped connections (http.ts `isRetryable`). */
  retries: number;
}

export interface Address {
  addr: string;
  version: 4 | 6;
  type: 'fixed' | 'floating' | undefined;
}

export interface Server {
  id: string;
  name: string;
  /** Nova status: BUILD, ACTIVE, ERROR, DELETED, ... */
  status: string;
  /** Network name -> addresses, in the order Nova lists them. */
  addresses: Record<string, Address[]>;
  /** Present when status is ERROR. */
  fault?: { message: string; code?: number; details?: string };
  availabilityZone?: string;
  /** When Nova created it (ISO 8601, to the second), if Nova said. */
  created?: string;
  /** The server's metadata (key/value strings); the pool manager marks the servers it builds here. */
  metadata: Record<string, string>;
}

export interface CreateServerRequest {
  name: string;
  imageRef: string;
  flavorRef: string;
  keyName?: string;
  securityGroups?: string[];
  availabilityZone?: string;
  /** Network UUIDs to attach; empty means the cloud's default. */
  networkIds?: string[];
  userData?: string; // plain text; the client base64-encodes it
  metadata?: Record<string, string>;
  serverGroupId?: string;
}

export interface FloatingIp {
  id: string;
  ip: string;
  /** Server the address is associated with, if any (Neutron: the port's device_id). */
  serverId: string | undefined;
  /** Neutron only: the port it is bound to. */
  portId: string | undefined;
  fixedIp: string | undefined;
  description: string | undefined;
  /**
   * Neutron's revision_number when this was read: a write made with it (If-Match) is refused
   * with PreconditionFailedError if the address changed since. Nova's legacy proxy has none.
   */
  revision: number | undefined;
  /** When it was allocated (ISO 8601, to the second); Neutron only. */
  createdAt: string | undefined;
}

export interface Compute {
  createServer(request: CreateServerRequest): Promise<{ id: string }>;
  /** undefined when Nova answers 404. */
  getServer(id: string): Promise<Server | undefined>;
  /** Servers whose name is exactly `name` (Nova's filter is a regex: anchored and escaped, then compared). */
  findServersByName(name: string): Promise<Server[]>;
  /** 'absent' when it was already gone (404). */
  deleteServer(id: string): Promise<'deleted' | 'absent'>;
  /** A flavor id as is, or the id of the one flavor with exactly that name. */
  resolveFlavor(idOrName: string): Promise<string>;
}

export interface Image {
  /** An image UUID as is, or the id of the one image with exactly that name (Glance v2). */
  resolveImage(idOrName: string): Promise<string>;
}

export interface FloatingIps {
  readonly backend: 'neutron' | 'nova-legacy';
  /**
   * Allocates one address. `description` is stored with it (Neutron) so that
   * `findByDescription` can find it again on a retried job.
   */
  allocate(options: { pool?: string; description?: string }): Promise<FloatingIp>;
  /** Neutron only; the legacy proxy has no description and returns []. */
  findByDescription(description: string): Promise<FloatingIp[]>;
  findByAddress(ip: string): Promise<FloatingIp | undefined>;
  get(id: string): Promise<FloatingIp | undefined>;
  /**
   * Associates with the server's port that holds `fixedIp` (without one: its first port with
   * a fixed IPv4). Neutron: only if the address is still at `floatingIp.revision`, else
   * PreconditionFailedError (nothing changed); re-read it and decide again.
   */
  associate(floatingIp: FloatingIp, serverId: string, fixedIp?: string): Promise<void>;
  /** Takes it off its port; Neutron: only if still at `floatingIp.revision`, as `associate`. */
  disassociate(floatingIp: FloatingIp, serverId: string): Promise<void>;
  /** 'absent' when it was already gone. */
  release(floatingIp: FloatingIp): Promise<'released' | 'absent'>;
}

export interface OpenStack {
  compute: Compute;
  image: Image;
  floatingIps(): Promise<FloatingIps>;
}
