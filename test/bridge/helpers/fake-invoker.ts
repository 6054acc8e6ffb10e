/**
 * A test Invoker: records every call and answers through a handler. The default handler
 * echoes the envelope's message back as a PASS, like a function that did nothing.
 */
import type { Invoker, InvokeOutcome } from '../../../bridge/invoker';
import type { Envelope } from '../../../contract/envelope';
import { sleep } from '../../../scripts/harness';

export interface InvokeCall {
  functionName: string;
  envelope: Envelope;
  payload: Buffer;
  at: number;
}

export type FakeHandler = (call: InvokeCall, signal?: AbortSignal) => Promise<InvokeOutcome> | InvokeOutcome;

export class FakeInvoker implements Invoker {
  readonly calls: InvokeCall[] = [];
  active = 0;
  maxActive = 0;

  constructor(public handler: FakeHandler = passThrough) {}

  async invoke(functionName: string, payload: Uint8Array, signal?: AbortSignal): Promise<InvokeOutcome> {
    const call: InvokeCall = {
      functionName,
      payload: Buffer.from(payload),
      envelope: JSON.parse(Buffer.from(payload).toString('utf8')) as Envelope,
      at: Date.now(),
    };
    this.calls.push(call);
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      return await this.handler(call, signal);
    } finally {
      this.active -= 1;
    }
  }
}

export function json(value: unknown): InvokeOutcome {
  return { status: 'returned', payload: Buffer.from(JSON.stringify(value)) };
}

export const passThrough: FakeHandler = (call) => json({ ...call.envelope.message, response: 'PASS' });

/** A handler that waits ms, then passes. */
export function slow(ms: number): FakeHandler {
  return async (call, signal) => {
    await sleep(ms, signal);
    return passThrough(call, signal);
  };
}
