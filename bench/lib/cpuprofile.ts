/**
 * Summary of a V8 .cpuprofile (node --cpu-prof): where the CPU time went, by package or
 * project file. A profile of a bundle (dist/pool-bridge.mjs) is read through its source map
 * (node:module's SourceMap), so its time is still told apart by package and project file.
 */
import fs from 'node:fs';
import { SourceMap } from 'node:module';
import type { SourceMapPayload } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ROOT, round } from './common';

const ROOT_URL = `${pathToFileURL(ROOT).href}/`;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** Share of samples in which the process was idle (waiting for I/O). */
  idlePct: number;
  /** Inclusive share of the busy time per npm package and project file (Node internals left out), largest first. */
  inclusive: { where: string; pct: number }[];
  /** Self time per function, largest first. */
  self: { fn: string; pct: number }[];
}

function place(url: string, functionName: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  // A project file: its path in the repository, wherever the checkout is.
  if (url.startsWith(ROOT_URL)) return url.slice(ROOT_URL.length);
  if (url.startsWith(`${ROOT}/`)) return url.slice(ROOT.length + 1);
  if (url.startsWith('node:')) return url;
  return url ? (url.split('/').slice(-1)[0] ?? url) : `(${functionName || 'native'})`;
}

/** Source maps of bundles met in a profile, by script URL (undefined: none beside it). */
const maps = new Map<string, SourceMap | undefined>();

function sourceMapOf(url: string): SourceMap | undefined {
  if (!maps.has(url)) {
    let map: SourceMap | undefined;
    try {
      const file = url.startsWith('file:') ? fileURLToPath(url) : url;
      if (file.endsWith('.mjs') && fs.existsSync(`${file}.map`)) {
        const payload = JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')) as SourceMapPayload;
        // The map's sources are relative to the bundle's directory: make them file URLs.
        const dir = pathToFileURL(`${file.slice(0, file.lastIndexOf('/'))}/`);
        payload.sources = payload.sources.map((source) => new URL(source, dir).href);
        map = new SourceMap(payload);
      }
    } catch {
      map = undefined;
    }
    maps.set(url, map);
  }
  return maps.get(url);
}

/** A bundled frame back at its source (file URL, and the name of the function there when the map has it). */
function unbundle(frame: ProfileNode['callFrame']): ProfileNode['callFrame'] {
  const map = frame.url ? sourceMapOf(frame.url) : undefined;
  if (!map || frame.lineNumber < 0) return frame;
  const entry = map.findEntry(frame.lineNumber, frame.columnNumber ?? 0);
  if (!('originalSource' in entry) || !entry.originalSource) return frame;
  // The minified name says nothing: name the function by where it starts in its source.
  const at = `${entry.originalSource.split('/').slice(-1)[0] ?? ''}:${entry.originalLine + 1}`;
  return {
    functionName: frame.functionName.length > 2 ? frame.functionName : `${frame.functionName || '(anonymous)'}@${at}`,
    url: entry.originalSource,
    lineNumber: entry.originalLine,
    columnNumber: entry.originalColumn,
  };
}

/** Reads a .cpuprofile and summarises it (the idle, GC and root pseudo-frames apart). */
export function summariseProfile(file: string, top = 12): ProfileSummary {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  for (const node of p.nodes) node.callFrame = unbundle(node.callFrame);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const timeById = new Map<number, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    timeById.set(id, (timeById.get(id) ?? 0) + dt);
    total += dt;
  });
  let idle = 0;
  const inclusive = new Map<string, number>();
  const self = new Map<string, number>();
  for (const [id, t] of timeById) {
    const node = byId.get(id) as ProfileNode;
    if (node.callFrame.functionName === '(idle)') {
      idle += t;
      continue;
    }
    const where = node.callFrame.url ? ` (${place(node.callFrame.url, node.callFrame.functionName)})` : '';
    const selfKey = `${node.callFrame.functionName || '(anonymous)'}${where}`;
    self.set(selfKey, (self.get(selfKey) ?? 0) + t);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur) as ProfileNode;
      if (n.callFrame.functionName === '(root)') continue;
      const key = place(n.callFrame.url, n.callFrame.functionName);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + t);
    }
  }
  const busy = total - idle;
  const list = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    totalMs: round(total / 1000, 0),
    idlePct: round((100 * idle) / total, 1),
    inclusive: list(new Map([...inclusive].filter(([k]) => !k.startsWith('node:') && !k.startsWith('(')))).map(
      ([where, t]) => ({ where, pct: round((100 * t) / busy, 1) }),
    ),
    self: list(self).map(([fn, t]) => ({ fn, pct: round((100 * t) / busy, 1) })),
  };
}
