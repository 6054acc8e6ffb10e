/** Nova microversion negotiation (OpenStack-API-Version / X-OpenStack-Nova-API-Version). */
import { ApiError } from '../errors';
import { headerValue } from '../http';
import type { SimRequest } from '../http';
import { NOVA_MAX_MICROVERSION, NOVA_MIN_MICROVERSION } from '../fixtures';

export class Microversion {
  constructor(
    readonly major: number,
    readonly minor: number,
  ) {}

  static parse(text: string): Microversion | undefined {
    const match = /^([1-9]\d*)\.(0|[1-9]\d*)$/.exec(text.trim());
    return match ? new Microversion(Number(match[1]), Number(match[2])) : undefined;
  }

  static of(text: string): Microversion {
    const version = Microversion.parse(text);
    if (!version) throw new Error(`bad microversion constant ${text}`);
    return version;
  }

  atLeast(other: string): boolean {
    const version = Microversion.of(other);
    return this.major > version.major || (this.major === version.major && this.minor >= version.minor);
  }

  toString(): string {
    return `${this.major}.${this.minor}`;
  }
}

export const MIN_VERSION = Microversion.of(NOVA_MIN_MICROVERSION);
export const MAX_VERSION = Microversion.of(NOVA_MAX_MICROVERSION);

/** The compute entry of 'OpenStack-API-Version: compute 2.60, volume 3.5', if any. */
function computeEntry(header: string): string | undefined {
  for (const part of header.split(',')) {
    const [service, version] = part.trim().split(/\s+/, 2);
    if (service?.toLowerCase() === 'compute' && version !== undefined) return version;
  }
  return undefined;
}

/** The version a request asks for; 400 for a malformed one, 406 outside min..max, as Nova answers. */
export function requestedMicroversion(request: SimRequest): Microversion {
  const modern = headerValue(request, 'openstack-api-version');
  const requested =
    (modern !== undefined ? computeEntry(modern) : undefined) ?? headerValue(request, 'x-openstack-nova-api-version');
  if (requested === undefined) return MIN_VERSION;
  if (requested.trim().toLowerCase() === 'latest') return MAX_VERSION;
  const version = Microversion.parse(requested);
  if (!version) {
    throw new ApiError(
      400,
      `API Version String ${requested.trim()} is of invalid format. Must be of format MajorNum.MinorNum.`,
    );
  }
  if (!version.atLeast(MIN_VERSION.toString()) || !MAX_VERSION.atLeast(version.toString())) {
    throw new ApiError(
      406,
      `Version ${version.toString()} is not supported by the API. Minimum is ${MIN_VERSION.toString()} and maximum is ${MAX_VERSION.toString()}.`,
    );
  }
  return version;
}

/** Headers Nova adds to every versioned response. */
export function microversionHeaders(version: Microversion): Record<string, string | string[]> {
  return {
    'OpenStack-API-Version': `compute ${version.toString()}`,
    'X-OpenStack-Nova-API-Version': version.toString(),
    Vary: ['OpenStack-API-Version', 'X-OpenStack-Nova-API-Version'],
  };
}
