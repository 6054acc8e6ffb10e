/** The /_sim control API: the FaultController and inspection over HTTP. Never subject to faults. */
import { json, matchRoute, noContent, parseJson, route } from './http';
import type { Route, SimReply, SimRequest } from './http';
import { validateAssociationBehaviour, validateFaultRule, validateServerOutcome } from './faults';
import type { CloudSim, FaultController } from './types';

export type ControlTarget = Pick<
  CloudSim,
  'counts' | 'servers' | 'floatingIps' | 'requests' | 'requestCounts' | 'expireTokens' | 'reset'
> & {
  faults: FaultController;
};

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function jsonBody(request: SimRequest): unknown {
  const parsed = parseJson(request);
  if (!parsed.ok) throw new ControlError(400, 'request body is not valid JSON');
  return parsed.value;
}

/** Runs a validating call, turning its TypeError into a 400. */
function validated<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof TypeError) throw new ControlError(400, error.message);
    throw error;
  }
}

function routesFor(target: ControlTarget): Route<SimRequest>[] {
  return [
    route('GET', '/_sim/state', () =>
      json(200, {
        counts: target.counts(),
        servers: target.servers(),
        floatingIps: target.floatingIps(),
        faults: target.faults.list(),
      }),
    ),
    route('GET', '/_sim/faults', () => json(200, { faults: target.faults.list() })),
    route('POST', '/_sim/faults', (request) =>
      json(201, { id: target.faults.add(validated(() => validateFaultRule(jsonBody(request)))) }),
    ),
    route('DELETE', '/_sim/faults', () => {
      target.faults.clear();
      return noContent();
    }),
    route('DELETE', '/_sim/faults/{id}', (_request, [id]) => {
      if (!target.faults.remove(id ?? '')) throw new ControlError(404, `no fault or outcome rule ${id ?? ''}`);
      return noContent();
    }),
    route('POST', '/_sim/server-outcomes', (request) =>
      json(201, { id: target.faults.serverOutcome(validated(() => validateServerOutcome(jsonBody(request)))) }),
    ),
    route('POST', '/_sim/floating-ip-association', (request) => {
      const behaviour = validated(() => validateAssociationBehaviour(jsonBody(request)));
      target.faults.floatingIpAssociation(behaviour);
      return noContent();
    }),
    route('POST', '/_sim/expire-tokens', () => {
      target.expireTokens();
      return noContent();
    }),
    route('POST', '/_sim/reset', () => {
      target.reset();
      return noContent();
    }),
    route('GET', '/_sim/requests', () => json(200, { requests: target.requests(), counts: target.requestCounts() })),
  ];
}

export class ControlService {
  private readonly routes: Route<SimRequest>[];

  constructor(target: ControlTarget) {
    this.routes = routesFor(target);
  }

  async handle(request: SimRequest): Promise<SimReply> {
    try {
      const match = matchRoute(this.routes, request.method, request.path);
      if (match.kind === 'not-found') throw new ControlError(404, `no control route ${request.method} ${request.path}`);
      if (match.kind === 'method-not-allowed')
        throw new ControlError(405, `use ${match.allowed.join(' or ')} for ${request.path}`);
      return await match.route.handle(request, match.params);
    } catch (error) {
      if (error instanceof ControlError) return json(error.status, { error: error.message });
      throw error;
    }
  }
}
