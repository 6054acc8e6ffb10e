/** Fault injection, server build outcomes and floating-IP association behaviour. */
import { seededRandom } from './ids';
import { isObject } from './http';
import type { CloudState } from './state';
import type {
  FaultController,
  FaultEffect,
  FaultRule,
  FaultRuleInfo,
  FloatingIpAssociationBehaviour,
  ServerOutcomeRule,
  ServiceName,
} from './types';

const SERVICES: readonly ServiceName[] = ['identity', 'compute', 'network', 'image'];

/** What a request hit by a fault gets instead of its normal answer. */
export type TerminalFault =
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'reset' }
  | { kind: 'hang' };

export interface FaultTarget {
  service: ServiceName;
  method: string;
  servicePath: string;
  fullPath: string;
}

interface ActiveRule {
  id: string;
  rule: FaultRule;
  pathPattern: RegExp | undefined;
  random: () => number;
  applied: number;
}

interface ActiveOutcome {
  id: string;
  rule: ServerOutcomeRule;
  namePattern: RegExp | undefined;
}

export class Faults implements FaultController {
  private rules: ActiveRule[] = [];
  private outcomes: ActiveOutcome[] = [];
  private nextId = 1;

  constructor(
    private readonly state: CloudState,
    private readonly defaultSeed: number,
  ) {}

  add(rule: FaultRule): string {
    const valid = validateFaultRule(rule);
    const id = `fault-${this.nextId++}`;
    const seed = valid.seed ?? this.defaultSeed + this.rules.length;
    this.rules.push({
      id,
      rule: valid,
      pathPattern: valid.path === undefined ? undefined : new RegExp(valid.path),
      random: seededRandom(seed),
      applied: 0,
    });
    return id;
  }

  remove(id: string): boolean {
    const before = this.rules.length + this.outcomes.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    this.outcomes = this.outcomes.filter((o) => o.id !== id);
    return this.rules.length + this.outcomes.length < before;
  }

  clear(): void {
    this.rules = [];
    this.outcomes = [];
    this.state.associationBehaviour = 'immediate';
  }

  list(): FaultRuleInfo[] {
    return this.rules.map((r) => ({ ...r.rule, id: r.id, applied: r.applied }));
  }

  serverOutcome(rule: ServerOutcomeRule): string {
    const valid = validateServerOutcome(rule);
    const id = `outcome-${this.nextId++}`;
    this.outcomes.push({
      id,
      rule: valid,
      namePattern: valid.namePattern === undefined ? undefined : new RegExp(valid.namePattern),
    });
    return id;
  }

  floatingIpAssociation(behaviour: FloatingIpAssociationBehaviour): void {
    this.state.associationBehaviour = validateAssociationBehaviour(behaviour);
  }

  /** The first outcome rule whose pattern matches the server name, if any. */
  outcomeFor(serverName: string): ServerOutcomeRule | undefined {
    return this.outcomes.find((o) => !o.namePattern || o.namePattern.test(serverName))?.rule;
  }

  /**
   * Runs the rules that match the request in order: delays are waited out and scanning goes on;
   * the first status/reset/hang rule that fires ends the scan and is returned.
   */
  async intercept(target: FaultTarget, sleep: (ms: number) => Promise<void>): Promise<TerminalFault | undefined> {
    for (const active of [...this.rules]) {
      if (!this.matches(active, target)) continue;
      if (active.rule.times !== undefined && active.applied >= active.rule.times) continue;
      const rate = active.rule.rate ?? 1;
      if (rate < 1 && active.random() >= rate) continue;
      active.applied += 1;
      const effect = active.rule.effect;
      if ('delayMs' in effect) {
        await sleep(effect.delayMs);
        continue;
      }
      if ('reset' in effect) return { kind: 'reset' };
      if ('hang' in effect) return { kind: 'hang' };
      return { kind: 'status', status: effect.status, body: effect.body, headers: effect.headers };
    }
    return undefined;
  }

  private matches(active: ActiveRule, target: FaultTarget): boolean {
    const { rule, pathPattern } = active;
    if (rule.service !== undefined && rule.service !== target.service) return false;
    if (rule.method !== undefined && rule.method.toUpperCase() !== target.method) return false;
    if (pathPattern && !pathPattern.test(target.servicePath) && !pathPattern.test(target.fullPath)) return false;
    return true;
  }
}

function fail(message: string): never {
  throw new TypeError(message);
}

function checkRegex(source: unknown, field: string): string | undefined {
  if (source === undefined) return undefined;
  if (typeof source !== 'string') fail(`${field} must be a regular expression source string`);
  try {
    new RegExp(source);
  } catch {
    fail(`${field} is not a valid regular expression: ${source}`);
  }
  return source;
}

function checkNonNegative(value: unknown, field: string, integer = true): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
    fail(`${field} must be a non-negative ${integer ? 'integer' : 'number'}`);
  }
  return value;
}

function validateEffect(effect: unknown): FaultEffect {
  if (!isObject(effect)) fail('effect must be an object');
  if ('status' in effect) {
    const status = effect.status;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599)
      fail('effect.status must be an HTTP status code');
    const headers = effect.headers;
    if (headers !== undefined && (!isObject(headers) || Object.values(headers).some((v) => typeof v !== 'string'))) {
      fail('effect.headers must map header names to strings');
    }
    return {
      status,
      ...(effect.body !== undefined ? { body: effect.body } : {}),
      ...(headers !== undefined ? { headers: headers as Record<string, string> } : {}),
    };
  }
  if ('delayMs' in effect) return { delayMs: checkNonNegative(effect.delayMs, 'effect.delayMs') ?? 0 };
  if (effect.reset === true) return { reset: true };
  if (effect.hang === true) return { hang: true };
  return fail('effect must be {status}, {delayMs}, {reset: true} or {hang: true}');
}

/** Checks a rule that may come from JSON; throws TypeError explaining what is wrong. */
export function validateFaultRule(input: unknown): FaultRule {
  if (!isObject(input)) fail('a fault rule must be an object');
  const { service, method, rate } = input;
  if (service !== undefined && !SERVICES.includes(service as ServiceName))
    fail(`service must be one of ${SERVICES.join(', ')}`);
  if (method !== undefined && typeof method !== 'string') fail('method must be a string');
  if (rate !== undefined && (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)))
    fail('rate must be a number from 0 to 1');
  const path = checkRegex(input.path, 'path');
  const times = checkNonNegative(input.times, 'times');
  const seed = checkNonNegative(input.seed, 'seed');
  const rule: FaultRule = { effect: validateEffect(input.effect) };
  if (service !== undefined) rule.service = service as ServiceName;
  if (method !== undefined) rule.method = (method as string).toUpperCase();
  if (path !== undefined) rule.path = path;
  if (rate !== undefined) rule.rate = rate as number;
  if (times !== undefined) rule.times = times;
  if (seed !== undefined) rule.seed = seed;
  return rule;
}

export function validateServerOutcome(input: unknown): ServerOutcomeRule {
  if (!isObject(input)) fail('a server outcome rule must be an object');
  const outcome = input.outcome;
  if (outcome !== 'active' && outcome !== 'error' && outcome !== 'stuck-build')
    fail("outcome must be 'active', 'error' or 'stuck-build'");
  if (input.faultMessage !== undefined && typeof input.faultMessage !== 'string') fail('faultMessage must be a string');
  const rule: ServerOutcomeRule = { outcome };
  const namePattern = checkRegex(input.namePattern, 'namePattern');
  const bootDelayMs = checkNonNegative(input.bootDelayMs, 'bootDelayMs');
  if (namePattern !== undefined) rule.namePattern = namePattern;
  if (typeof input.faultMessage === 'string') rule.faultMessage = input.faultMessage;
  if (bootDelayMs !== undefined) rule.bootDelayMs = bootDelayMs;
  return rule;
}

/** Accepts 'immediate' | 'never' | {delayMs}, and over HTTP also {mode: 'immediate'|'never'}. */
export function validateAssociationBehaviour(input: unknown): FloatingIpAssociationBehaviour {
  if (input === 'immediate' || input === 'never') return input;
  if (isObject(input)) {
    if (input.mode === 'immediate' || input.mode === 'never') return input.mode;
    if ('delayMs' in input) return { delayMs: checkNonNegative(input.delayMs, 'delayMs') ?? 0 };
  }
  return fail("floating IP association must be 'immediate', 'never' or {delayMs: N}");
}
