/**
 * The jobs of the selected pipeline, newest first, live: state, progress, timings; the selected
 * job's detail below.
 */
import React from 'react';

import { exactTime, formatDuration, relativeTime, shortId } from '../format';
import { IJob, jobNodeState } from '../model';
import { Empty, ErrorMessage, ProgressBar, StateBadge } from './bits';
import { onListKeyDown, usePipes, useSignals } from './context';
import { JobDetail } from './JobDetail';

function JobRow({ job, selected }: { job: IJob; selected: boolean }): JSX.Element {
  const { model } = usePipes();
  const when = job.started ?? job.created;
  return (
    <li
      className={`jp-Pipes-job${selected ? ' jp-mod-selected' : ''}`}
      data-job={job.id}
      data-state={job.state}
    >
      <button
        data-row
        className="jp-Pipes-rowMain jp-Pipes-jobMain"
        aria-current={selected}
        aria-label={`Job ${shortId(job.id)} ${job.state}`}
        onClick={() => void model.jobs.select(selected ? null : job.id)}
      >
        <span className="jp-Pipes-jobLine">
          <StateBadge state={jobNodeState(job.state)} label={job.state} />
          <span className="jp-Pipes-mono">{shortId(job.id)}</span>
          <span title={exactTime(when)}>{relativeTime(when)}</span>
          {job.duration_s !== null ? <span>{formatDuration(job.duration_s)}</span> : null}
        </span>
        <ProgressBar job={job} />
        <span className="jp-Pipes-small jp-Pipes-muted">
          {job.processed} processed · {job.skipped} skipped · {job.failed} failed / {job.total}
        </span>
      </button>
    </li>
  );
}

export function Jobs(): JSX.Element {
  const { model } = usePipes();
  const jobs = model.jobs;
  useSignals(jobs.changed);
  if (!jobs.pipeline) {
    return <Empty>Select a pipeline in the DAG to see its jobs and datums.</Empty>;
  }
  return (
    <div className="jp-Pipes-jobs">
      <div className="jp-Pipes-small">
        Output:{' '}
        <button className="jp-Pipes-link" onClick={() => void model.selectBranch(jobs.pipeline!)}>
          {jobs.pipeline}
        </button>
      </div>
      <ErrorMessage message={jobs.error} />
      {jobs.jobs.length === 0 && !jobs.loading ? <Empty>No jobs yet.</Empty> : null}
      <ul className="jp-Pipes-list" aria-label={`Jobs of ${jobs.pipeline}`} onKeyDown={onListKeyDown}>
        {jobs.jobs.map(j => (
          <React.Fragment key={j.id}>
            <JobRow job={j} selected={jobs.job?.id === j.id} />
            {jobs.job?.id === j.id ? (
              <li className="jp-Pipes-jobDetailItem">
                <JobDetail />
              </li>
            ) : null}
          </React.Fragment>
        ))}
      </ul>
      {jobs.hasMore ? (
        <button className="jp-Pipes-button jp-Pipes-more" onClick={() => void jobs.loadMore()}>
          Load older jobs
        </button>
      ) : null}
    </div>
  );
}
