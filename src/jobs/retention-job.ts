// Daily: removes the bodies of finished messages older than DELIVERY_RETENTION_DAYS (the delivery
// queue's removeFinishedBodies); recipients, outcomes and counters stay.
import { DAY_MS } from '../domain/index.ts';
import { formatCount, formatDateTime } from '../shared/format.ts';
import type { Job } from './job.ts';
import type { JobName } from '../shared/job-names.ts';

export const RETENTION_JOB: JobName = 'retention';

export const retentionJob: Job = {
  name: RETENTION_JOB,
  description: 'removes the bodies of finished messages older than DELIVERY_RETENTION_DAYS',
  schedule: (c) => c.retentionSchedule,
  async run(deps, opts) {
    const now = deps.clock();
    const olderThan = new Date(now.getTime() - deps.retentionDays * DAY_MS);
    const columns = [
      { key: 'what', header: 'WHAT' },
      { key: 'count', header: 'COUNT', align: 'right' as const },
    ];
    if (opts.dryRun) {
      const messages = await deps.queue.countFinishedWithBody(olderThan);
      return {
        job: RETENTION_JOB,
        dryRun: true,
        summary: `${formatCount(messages)} finished message(s) from before ${formatDateTime(olderThan)} would lose their body; dry run, nothing removed`,
        columns,
        rows: [{ what: 'finished messages with a body to remove', count: formatCount(messages) }],
        details: { olderThan: olderThan.toISOString(), messages },
      };
    }
    const r = await deps.queue.removeFinishedBodies({ olderThan, now });
    return {
      job: RETENTION_JOB,
      dryRun: false,
      summary: `removed the bodies of ${formatCount(r.messages)} finished message(s) from before ${formatDateTime(olderThan)} (${formatCount(r.chunks)} chunks, ${formatCount(r.orphanChunks)} orphan chunks, ${formatCount(r.bodyDocuments)} batch body documents)`,
      columns,
      rows: [
        { what: 'finished messages, body removed', count: formatCount(r.messages) },
        { what: 'body chunks removed', count: formatCount(r.chunks) },
        { what: 'orphan chunks removed', count: formatCount(r.orphanChunks) },
        { what: 'batch body documents removed', count: formatCount(r.bodyDocuments) },
      ],
      details: { olderThan: olderThan.toISOString(), ...r },
    };
  },
};
