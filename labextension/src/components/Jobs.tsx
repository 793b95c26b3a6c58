/**
 * The jobs of the selected pipeline (or of all), newest first, live, filtered by state: state
 * (“starting cluster” while the Dask cluster starts), progress, timings; the selected job's
 * detail under its row.
 */
import React from 'react';

import { exactTime, formatDuration, relativeTime, shortId } from '../format';
import { ALL_PIPELINES, IJob, jobDisplayState, JobStateFilter, NODE_STATES } from '../model';
import { Empty, ErrorMessage, FilterSelect, ProgressBar, RowMenuButton, StateBadge } from './bits';
import { onListKeyDown, usePipes, useSignals } from './context';
import { JobDetail } from './JobDetail';

function JobRow({ job, selected }: { job: IJob; selected: boolean }): JSX.Element {
  const { model } = usePipes();
  const when = job.started ?? job.created;
  const state = jobDisplayState(job, model.clusterStarting);
  return (
    <li
      className={`jp-Pipes-job${selected ? ' jp-mod-selected' : ''}`}
      data-job={job.id}
      data-pipeline={job.pipeline}
      data-state={job.state}
      data-display-state={state}
      data-menu-kind="job"
    >
      <div className="jp-Pipes-row">
        <button
          data-row
          className="jp-Pipes-rowMain jp-Pipes-jobMain"
          aria-current={selected}
          aria-expanded={selected}
          aria-label={`Job ${shortId(job.id)} of ${job.pipeline}: ${state === 'starting' ? 'starting cluster' : job.state}`}
          onClick={() => void model.jobs.select(selected ? null : job.id)}
        >
          <span className="jp-Pipes-jobLine">
            <StateBadge state={state} label={job.state} />
            {model.jobs.allPipelines ? <span className="jp-Pipes-jobPipeline">{job.pipeline}</span> : null}
            <span className="jp-Pipes-mono">{shortId(job.id)}</span>
            <span title={exactTime(when)}>{relativeTime(when)}</span>
            {job.duration_s !== null ? <span>{formatDuration(job.duration_s)}</span> : null}
          </span>
          <ProgressBar job={job} />
          <span className="jp-Pipes-small jp-Pipes-muted">
            {state === 'starting'
              ? `starting the Dask cluster before the first of ${job.total - job.skipped} datum${job.total - job.skipped === 1 ? '' : 's'}…`
              : `${job.processed} processed · ${job.skipped} skipped · ${job.failed} failed / ${job.total}`}
          </span>
        </button>
        <RowMenuButton
          kind="job"
          args={{ job: job.id, pipeline: job.pipeline, state: job.state }}
          label={`Actions for job ${shortId(job.id)}`}
        />
      </div>
    </li>
  );
}

const STATE_CHOICES: Array<[JobStateFilter, string]> = [
  ['all', 'every state'],
  ...NODE_STATES.filter(s => s !== 'idle' && s !== 'starting').map(
    s => [s, s] as [JobStateFilter, string]
  )
];

export function Jobs(): JSX.Element {
  const { model } = usePipes();
  const jobs = model.jobs;
  useSignals(jobs.changed, model.dag.changed, model.changed);
  const pipelines = model.dag.pipelines;
  if (!jobs.pipeline) {
    return (
      <>
        <Empty>Select a pipeline in the DAG to see its jobs and datums.</Empty>
        {pipelines.length ? (
          <button className="jp-Pipes-button jp-Pipes-more" onClick={() => void jobs.show(ALL_PIPELINES)}>
            Show the jobs of every pipeline
          </button>
        ) : null}
      </>
    );
  }
  const visible = jobs.visibleJobs;
  return (
    <div className="jp-Pipes-jobs">
      <div className="jp-Pipes-filters">
        <FilterSelect
          label="Pipeline"
          value={jobs.pipeline}
          choices={[
            [ALL_PIPELINES, 'every pipeline'],
            ...pipelines.map(p => [p, p] as [string, string])
          ]}
          onChange={p => void jobs.show(p)}
        />
        <FilterSelect<JobStateFilter>
          label="Job state"
          value={jobs.stateFilter}
          choices={STATE_CHOICES}
          onChange={s => jobs.setStateFilter(s)}
        />
      </div>
      {!jobs.allPipelines ? (
        <div className="jp-Pipes-small jp-Pipes-jobsOutput">
          Output:{' '}
          <button className="jp-Pipes-link" onClick={() => void model.selectBranch(jobs.pipeline!)}>
            {jobs.pipeline}
          </button>
        </div>
      ) : null}
      <ErrorMessage message={jobs.error} />
      {jobs.jobs.length === 0 && !jobs.loading ? <Empty>No jobs yet.</Empty> : null}
      {jobs.jobs.length > 0 && visible.length === 0 ? (
        <Empty>No loaded job is {jobs.stateFilter}.</Empty>
      ) : null}
      <ul
        className="jp-Pipes-list"
        aria-label={jobs.allPipelines ? 'Jobs of every pipeline' : `Jobs of ${jobs.pipeline}`}
        onKeyDown={onListKeyDown}
      >
        {visible.map(j => (
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
