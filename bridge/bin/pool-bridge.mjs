#!/usr/bin/env node
// pool-bridge: loads the TypeScript entry through tsx's ESM loader (no build step).
import { register } from 'tsx/esm/api';

register();
await import('../main.ts');
