/**
 * The message examples of contract/examples/: one example message and the response the
 * specification shows for it, per action (contract/examples/README.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Action } from '../../contract';
import { ACTIONS } from '../../contract';

export const EXAMPLES_DIR = path.join(import.meta.dirname, '..', '..', 'contract', 'examples');

export interface ContractExample {
  action: Action;
  /** The example message exactly as written (not always JSON: see build-ip.message.txt). */
  message: string;
  /** The example response, parsed. */
  response: Record<string, unknown>;
}

/** `BUILD_DEVICE` -> `build-device`, the examples' file stem. */
export const exampleStem = (action: Action): string => action.toLowerCase().replaceAll('_', '-');

/** A message without a trailing comma before its closing brace (the user's BUILD_IP example has one). */
export const withoutTrailingComma = (message: string): string => message.replace(/,(\s*\})$/, '$1');

/** Every action's example, in the contract's order; throws naming a missing file. */
export function contractExamples(): ContractExample[] {
  return (Object.keys(ACTIONS) as Action[]).map((action) => {
    const stem = path.join(EXAMPLES_DIR, exampleStem(action));
    return {
      action,
      // The file ends with a newline; the message as written does not.
      message: fs.readFileSync(`${stem}.message.txt`, 'utf8').replace(/\r?\n$/, ''),
      response: JSON.parse(fs.readFileSync(`${stem}.response.json`, 'utf8')) as Record<string, unknown>,
    };
  });
}
