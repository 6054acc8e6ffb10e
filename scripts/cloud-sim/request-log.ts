/** Every request the simulator received, with the status it was answered with. */
import type { RecordedService, RequestRecord } from './types';

export class RequestLog {
  private records: RequestRecord[] = [];

  /** Records the request on arrival; the caller sets `status` once it is answered. */
  start(service: RecordedService, method: string, path: string, at: number): RequestRecord {
    const record: RequestRecord = { service, method, path, status: 0, at };
    this.records.push(record);
    return record;
  }

  all(): RequestRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  /** Totals per service plus per 'service:METHOD /path' (service-relative path). */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { service, method, path } of this.records) {
      counts[service] = (counts[service] ?? 0) + 1;
      const key = `${service}:${method} ${path}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  clear(): void {
    this.records = [];
  }
}
