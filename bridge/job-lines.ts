/**
 * The log lines about each job, the only ones written at the rate jobs come: "job taken"
 * (DEBUG) when an invoke starts and "job answered" (INFO for a PASS, WARN otherwise) when
 * the answer goes back, each with the job's unique id, handle and server.
 *
 * Through Powertools Logger they cost most of the bridge's CPU at a few thousand jobs per
 * second (bench/REPORT.md, section 2: it reads its settings from the environment, merges
 * attributes and writes to stdout for every line). JobLineWriter writes the same JSON
 * shape as the bridge's Powertools logger (level, message, timestamp, service,
 * sampling_rate, its persistent keys, then the job's fields) to the same streams (stdout
 * for DEBUG and INFO, stderr for WARN, as Powertools' console does), with the settings read
 * once, and the lines of one turn of the event loop in one write per stream. Every other line goes through
 * Powertools as before; the writer's buffer is flushed first, so the order of lines holds.
 */
import { LogFormatter, LogLevelThreshold } from '@aws-lambda-powertools/logger';
import type { LogSink, Logger } from '../contract';

export type JobFields = Record<string, string | number | undefined>;

interface Out {
  write(text: string): unknown;
}

/** Where the lines go: Powertools writes DEBUG and INFO to stdout, WARN and above to stderr. */
export interface LineStreams {
  stdout: Out;
  stderr: Out;
}

export interface JobLines {
  /** An invoke starts (DEBUG). */
  taken(fields: JobFields): void;
  /** A job's answer went back, or could not (INFO for a PASS, WARN otherwise). */
  answered(level: 'INFO' | 'WARN', message: string, fields: JobFields): void;
  /** Writes what is buffered now. */
  flush(): void;
}

/** The job lines through any LogSink (tests, an embedding program). */
export function jobLinesVia(logger: LogSink): JobLines {
  return {
    taken: (fields) => logger.debug('job taken', fields),
    answered: (level, message, fields) =>
      level === 'INFO' ? logger.info(message, fields) : logger.warn(message, fields),
    flush: () => undefined,
  };
}

/** Powertools' own timestamp format (ISO 8601, in the TZ of the environment), from its formatter. */
class Timestamps extends LogFormatter {
  private lastMs = -1;
  private last = '';

  now(): string {
    const ms = Date.now();
    if (ms !== this.lastMs) {
      this.lastMs = ms;
      this.last = this.formatTimestamp(new Date(ms));
    }
    return this.last;
  }

  override formatAttributes(): never {
    throw new Error('Timestamps only formats timestamps');
  }
}

export class JobLineWriter implements JobLines {
  private readonly threshold: number;
  /** `","service":…,"pid":…,"host":…,` : what follows the timestamp in every line. */
  private readonly middle: string;
  private readonly timestamps = new Timestamps();
  private toStdout: string[] = [];
  private toStderr: string[] = [];
  private scheduled = false;

  /**
   * The writer for `logger`'s settings as they are now (its level, service and persistent
   * keys): call it after setting them. Use `forLogger`, which falls back to the logger
   * where this writer would not write the same lines.
   */
  private constructor(
    logger: Logger,
    serviceName: string,
    private readonly streams: LineStreams,
  ) {
    this.threshold = LogLevelThreshold[logger.getLevelName()];
    const persistent = JSON.stringify(logger.getPersistentLogAttributes());
    this.middle = `${JSON.stringify({ service: serviceName, sampling_rate: 0 }).slice(1, -1)}${persistent === '{}' ? '' : `,${persistent.slice(1, -1)}`}`;
  }

  /**
   * The lean writer, or the logger itself when Powertools would write differently from it:
   * POWERTOOLS_DEV (pretty-printed lines), a sample rate (levels that change per line), an
   * X-Ray trace id in the environment.
   */
  static forLogger(
    logger: Logger,
    serviceName: string,
    env: NodeJS.ProcessEnv = process.env,
    streams: LineStreams = { stdout: process.stdout, stderr: process.stderr },
  ): JobLines {
    const set = (name: string): boolean => (env[name] ?? '').trim() !== '';
    if (set('POWERTOOLS_DEV') || set('POWERTOOLS_LOGGER_SAMPLE_RATE') || set('_X_AMZN_TRACE_ID')) {
      return jobLinesVia(logger);
    }
    return new JobLineWriter(logger, serviceName, streams);
  }

  taken(fields: JobFields): void {
    if (this.threshold <= LogLevelThreshold.DEBUG) this.line('DEBUG', 'job taken', fields);
  }

  answered(level: 'INFO' | 'WARN', message: string, fields: JobFields): void {
    if (this.threshold <= LogLevelThreshold[level]) this.line(level, message, fields);
  }

  flush(): void {
    if (this.toStdout.length > 0) {
      const text = this.toStdout.join('');
      this.toStdout = [];
      this.streams.stdout.write(text);
    }
    if (this.toStderr.length > 0) {
      const text = this.toStderr.join('');
      this.toStderr = [];
      this.streams.stderr.write(text);
    }
  }

  private line(level: string, message: string, fields: JobFields): void {
    const rest = JSON.stringify(fields);
    (level === 'WARN' ? this.toStderr : this.toStdout).push(
      `{"level":"${level}","message":${JSON.stringify(message)},"timestamp":"${this.timestamps.now()}",${this.middle}${rest === '{}' ? '}' : `,${rest.slice(1)}`}\n`,
    );
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }
}

/** A LogSink over `logger` that writes the job lines buffered so far first, so lines stay in order. */
export function afterJobLines(logger: Logger, lines: JobLines): LogSink & Pick<Logger, 'critical'> {
  const after =
    (level: 'debug' | 'info' | 'warn' | 'error' | 'critical') =>
    (message: string, ...extra: Record<string, unknown>[]): void => {
      lines.flush();
      logger[level](message, ...extra);
    };
  return {
    debug: after('debug'),
    info: after('info'),
    warn: after('warn'),
    error: after('error'),
    critical: after('critical'),
  };
}
