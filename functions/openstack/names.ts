/**
 * Name resolution, the same everywhere: exactly one resource with exactly that name, or an
 * error the operator can act on. Never a guess.
 */
import { AmbiguousNameError, NotFoundError } from './errors';
import type { ServiceName } from './errors';
import { asId, asString, field } from './json';

/** Regex metacharacters of Python's `re` and MySQL's REGEXP alike. */
const REGEX_META = /[\\^$.|?*+()[\]{}]/g;

/** `name` as a regex that matches exactly it (Nova's `name` filter is a regex search). */
export function exactNameRegex(name: string): string {
  return `^${name.replace(REGEX_META, '\\$&')}$`;
}

/** The id of the one item whose `name` is exactly `name`. */
export function pickByName(
  kind: string,
  name: string,
  items: readonly unknown[],
  where: { service: ServiceName; method: string; path: string },
): string {
  const ids = items.flatMap((item) => {
    const id = asId(field(item, 'id'));
    return asString(field(item, 'name')) === name && id ? [id] : [];
  });
  const unique = [...new Set(ids)];
  if (unique.length === 1 && unique[0] !== undefined) return unique[0];
  if (unique.length === 0) throw new NotFoundError(`no ${kind} named ${name}`, { ...where, retryable: false });
  throw new AmbiguousNameError(`${unique.length} ${kind}s named ${name}: give an id`, name, unique.length, where);
}
