/** Issued Keystone tokens and their validity. */
import { newAuditId, newTokenId } from './ids';

export interface Token {
  id: string;
  userId: string;
  projectId: string;
  methods: string[];
  issuedAt: number;
  expiresAt: number;
  auditId: string;
  applicationCredentialId?: string;
}

export class TokenStore {
  private readonly tokens = new Map<string, Token>();

  constructor(private readonly ttlSeconds: number) {}

  issue(
    fields: { userId: string; projectId: string; methods: string[]; applicationCredentialId?: string },
    now: number,
  ): Token {
    const token: Token = {
      id: newTokenId(),
      ...fields,
      issuedAt: now,
      expiresAt: now + this.ttlSeconds * 1000,
      auditId: newAuditId(),
    };
    this.tokens.set(token.id, token);
    return token;
  }

  /** The token when it exists and has not expired or been revoked. */
  valid(id: string | undefined, now: number): Token | undefined {
    if (!id) return undefined;
    const token = this.tokens.get(id.trim());
    return token && token.expiresAt > now ? token : undefined;
  }

  /** A revoked token stays known (for issuedTokens) but is no longer valid. */
  revoke(id: string): void {
    const token = this.tokens.get(id);
    if (token) token.expiresAt = Math.min(token.expiresAt, token.issuedAt);
  }

  /** Every token issued so far stops working; tokens issued afterwards are fine. */
  expireAll(now: number): void {
    for (const token of this.tokens.values()) token.expiresAt = Math.min(token.expiresAt, now);
  }

  ids(): string[] {
    return [...this.tokens.keys()];
  }

  countValid(now: number): number {
    let count = 0;
    for (const token of this.tokens.values()) if (token.expiresAt > now) count += 1;
    return count;
  }

  clear(): void {
    this.tokens.clear();
  }
}
