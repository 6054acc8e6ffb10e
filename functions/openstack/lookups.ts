/**
 * The image and flavor ids of the names (or ids) a build is given, looked up once and
 * remembered by the client, so that a warm function's builds make no lookups at all.
 *
 * What keeps an id from going stale:
 * - the client is made per cloud settings (functions/handlers/make-handler.ts replaces it
 *   when any OS_* variable changes), so no lookup outlives a change of cloud, region,
 *   endpoint or credentials, nor ever serves another stage;
 * - the key is the name as configured, so a new POOL_IMAGE or POOL_FLAVOR is looked up anew;
 * - Nova refusing a create over its image or flavor (the id is gone: the image was deleted
 *   or replaced) drops the entry at once (`forget`), and the create is retried with a fresh id;
 * - and every entry is looked up again after maxAgeMs, so a new image uploaded under the same
 *   name while the old one still exists is used within that time.
 */

export type LookupKind = 'image' | 'flavor';

/** How long a looked-up id is used before it is looked up again. */
export const LOOKUP_MAX_AGE_MS = 5 * 60_000;

interface Entry {
  kind: LookupKind;
  name: string;
  id: Promise<string>;
  /** The id, once the lookup answered. */
  resolved: string | undefined;
  at: number;
}

export class Lookups {
  private readonly entries = new Map<string, Entry>();
  /** Ids found gone, with the names that had given them (a handful per image rotation). */
  private readonly stale = new Map<string, string[]>();

  constructor(
    private readonly maxAgeMs = LOOKUP_MAX_AGE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The remembered id of `name`, or `lookUp()`'s. Concurrent callers share one lookup; a
   * failed lookup is not remembered, so the next caller tries again.
   */
  get(kind: LookupKind, name: string, lookUp: () => Promise<string>): Promise<string> {
    const key = `${kind}\u0000${name}`;
    const known = this.entries.get(key);
    if (known && this.now() - known.at < this.maxAgeMs) return known.id;
    const entry: Entry = { kind, name, id: lookUp(), resolved: undefined, at: this.now() };
    this.entries.set(key, entry);
    entry.id.then(
      (id) => {
        entry.resolved = id;
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.id;
  }

  /**
   * Drops every entry of `kind` whose lookup gave `id`; returns the names they were for, also
   * when an earlier call dropped them (concurrent builds refused over the same stale id each
   * learn which name to look up again).
   */
  forget(kind: LookupKind, id: string): string[] {
    const staleKey = `${kind}\u0000${id}`;
    const names = new Set(this.stale.get(staleKey));
    for (const [key, entry] of this.entries) {
      if (entry.kind === kind && entry.resolved === id) {
        this.entries.delete(key);
        names.add(entry.name);
      }
    }
    if (names.size > 0) this.stale.set(staleKey, [...names]);
    return [...names];
  }
}
