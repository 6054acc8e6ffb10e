/** "Reproduce": the commands that wrote the report, and where the files are. */
import { collect } from './format';

export function reproduceSection(): string[] {
  const [out, p] = collect();
  p(
    '## Reproduce',
    '',
    '    bash scripts/setup.sh && npm run bench          # all four, then this report (about 8 minutes on 2 cores)',
    '    npx tsx bench/run.ts --only fleet-builds         # one script, then the report from the fragments there are',
    '    npx tsx bench/run.ts --report-only               # the report again from bench/out/*.json',
    '    npx tsx bench/fleet-builds.ts --quick            # one script alone (options: the comment at its top)',
    '',
    'Files: `bench/run.ts` (runs the scripts, writes this report and `results.json`), `bench/fleet-builds.ts`,',
    '`bench/bridge-overhead.ts`, `bench/openstack-calls.ts`, `bench/function-package.ts`, helpers in `bench/lib/`;',
    'each script prints its figures and writes `bench/out/<name>.json`; child-process logs go to `bench/out/logs/`.',
    'Nothing here runs in `npm test`.',
    '',
  );
  return out;
}
