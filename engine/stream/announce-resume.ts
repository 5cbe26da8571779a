import { Logger } from '../core/logger';
import { localToUtc } from '../core/time';
import { SourceReader } from '../source/source-reader';
import { SourceStream } from '../source/source-stream';

/**
 * Says where a stream resumes, in the manual's words (`timecursor(local) <table> {sitemask…}
 * <time>`) with the zone of that local time and the UTC instant it is, after warning once about
 * entries before `timefloor` (zero dates included) that it never reads.
 */
export async function announceResume(reader: SourceReader, stream: SourceStream, logger: Logger, timefloor: string, start: string, timezone: string): Promise<void> {
  const before = await reader.countBefore(timefloor);
  if (before > 0) {
    logger.log('warn', `${stream.table}: ${before} entries before timefloor ${timefloor} ${timezone} (zero dates included) are skipped`, { stream: stream.table, skipped: before, timefloor, zone: timezone });
  }
  const c = stream.context;
  const utc = localToUtc(start, timezone);
  logger.log('info', `timecursor(local) ${stream.table} {sitemask: ${c.sitemask}, subsite: ${c.subsite}} ${start} ${timezone} (${utc} UTC)`, {
    stream: stream.table,
    sitemask: c.sitemask,
    subsite: c.subsite,
    resume_local: start,
    zone: timezone,
    resume_utc: utc,
  });
}
