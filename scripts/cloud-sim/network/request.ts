/** The per-request view the Neutron handlers work with. */
import { ApiError } from '../errors';
import { parseJson } from '../http';
import type { SimRequest } from '../http';
import type { CloudContext } from '../context';
import type { Token } from '../tokens';

export class NetworkRequest {
  constructor(
    readonly cloud: CloudContext,
    readonly request: SimRequest,
    readonly token: Token,
  ) {}

  /** The JSON body; Neutron answers 400 "Body contains invalid data" when it does not parse. */
  body(): unknown {
    const parsed = parseJson(this.request);
    if (!parsed.ok) throw new ApiError(400, 'Body contains invalid data', 'HTTPBadRequest');
    return parsed.value;
  }

  now(): number {
    return this.cloud.now();
  }
}
