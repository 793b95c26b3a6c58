/**
 * One job: its inputs and output, its error (shown once: the datum that raised it points at it
 * instead of repeating it), its datums (failed ones first, filtered by state; open any executed
 * notebook in JupyterLab) and its logs (in a tab that follows the job while it runs).
 */
import React from 'react';

import { CommandIDs } from '../commandIds';
import { exactTime, formatDuration, relativeTime, shortId } from '../format';
import { datumCounts, DatumStateFilter, IDatum, IJob, IJobError } from '../model';
import { Empty, FilterSelect, RowMenuButton } from './bits';
import { onListKeyDown, run, usePipes } from './context';

function sameError(a: IJobError | null, b: IJobError | null): boolean {
  return !!a && !!b && a.ename === b.ename && a.evalue === b.evalue;
}

function errorText(error: IJobError): string {
  const cell =
    error.cell_index !== undefined && error.cell_index !== null ? ` (cell ${error.cell_index})` : '';
  return `${error.ename ?? 'Error'}: ${error.evalue ?? ''}${cell}`;
}

function DatumRow({ datum, job }: { datum: IDatum; job: IJob }): JSX.Element {
  const { commands } = usePipes();
  const inputs = datum.inputs.map(i => `${i.name}:${i.path}`).join(', ');
  const args = {
    job: datum.job,
    datum: datum.id,
    pipeline: job.pipeline,
    state: datum.state,
    notebook: datum.has_notebook ? '1' : '0'
  };
  const isJobError = datum.id === job.error?.datum || sameError(datum.error, job.error);
  return (
    <li
      className={`jp-Pipes-datum jp-Pipes-datum-${datum.state}`}
      data-datum={datum.id}
      data-job={datum.job}
      data-pipeline={job.pipeline}
      data-state={datum.state}
      data-notebook={args.notebook}
      data-menu-kind="datum"
    >
      <div className="jp-Pipes-row">
        <span className={`jp-Pipes-badge jp-Pipes-datumState jp-Pipes-datumState-${datum.state}`}>
          {datum.state}
        </span>
        <span className="jp-Pipes-mono" title={datum.id}>
          {shortId(datum.id)}
        </span>
        {datum.state === 'running' ? (
          <span className="jp-Pipes-muted jp-Pipes-datumSince" title={exactTime(datum.started)}>
            since {relativeTime(datum.started)}
            {datum.worker ? ` on ${datum.worker.replace(/^[a-z]+:\/\//, '')}` : ''}
          </span>
        ) : (
          <span className="jp-Pipes-muted">{formatDuration(datum.duration_s)}</span>
        )}
        {datum.tries > 1 ? <span className="jp-Pipes-muted">{datum.tries} tries</span> : null}
        <span className="jp-Pipes-spacer" />
        <RowMenuButton kind="datum" args={args} label={`Actions for datum ${shortId(datum.id)}`} />
      </div>
      <div className="jp-Pipes-small jp-Pipes-ellipsis" title={inputs}>
        {inputs}
      </div>
      {datum.error ? (
        isJobError ? (
          <div className="jp-Pipes-small jp-Pipes-datumError" data-same-as-job="1">
            raised the job’s error (above)
          </div>
        ) : (
          <div className="jp-Pipes-error jp-Pipes-small jp-Pipes-datumError">{errorText(datum.error)}</div>
        )
      ) : null}
      <div className="jp-Pipes-datumActions">
        {datum.has_notebook ? (
          <button
            className="jp-Pipes-button"
            aria-label={`Open the executed notebook of datum ${shortId(datum.id)}`}
            onClick={() => run(commands, CommandIDs.openNotebook, args)}
          >
            Open notebook
          </button>
        ) : null}
        {datum.state === 'running' && commands.hasCommand(CommandIDs.restartDatum) ? (
          <button
            className="jp-Pipes-button jp-Pipes-restartDatum"
            aria-label={`Restart datum ${shortId(datum.id)}`}
            onClick={() => run(commands, CommandIDs.restartDatum, args)}
          >
            Restart…
          </button>
        ) : null}
        {datum.state === 'running' ? null : datum.state !== 'skipped' ? (
          <button
            className="jp-Pipes-button"
            aria-label={`Show the log of datum ${shortId(datum.id)}`}
            onClick={() => run(commands, CommandIDs.datumLog, args)}
          >
            Log
          </button>
        ) : (
          <span className="jp-Pipes-muted jp-Pipes-small">
            reused from job {shortId(datum.reused_from)}
          </span>
        )}
      </div>
    </li>
  );
}

export function JobDetail(): JSX.Element | null {
  const { model, commands } = usePipes();
  const jobs = model.jobs;
  const job = jobs.job;
  if (!job) {
    return null;
  }
  const counts = datumCounts(jobs.datums);
  const choices: Array<[DatumStateFilter, string]> = [
    ['all', `every datum (${jobs.datums.length}${jobs.hasMoreDatums ? '+' : ''})`],
    ['failed', `failed (${counts.failed})`],
    ['running', `running now (${counts.running})`],
    ['success', `processed (${counts.success})`],
    ['skipped', `skipped (${counts.skipped})`]
  ];
  const datums = jobs.visibleDatums;
  return (
    <div className="jp-Pipes-jobDetail" aria-label={`Job ${shortId(job.id)}`}>
      {/* the reason of a failed job repeats its error: the error block below says it once */}
      {job.reason && !job.error ? <div className="jp-Pipes-small jp-Pipes-muted">{job.reason}</div> : null}
      <div className="jp-Pipes-lineage">
        <span className="jp-Pipes-label">Inputs</span>
        {job.inputs.map(i => (
          <button
            key={`${i.repo}@${i.id}`}
            className="jp-Pipes-link jp-Pipes-mono"
            onClick={() => void model.openCommit(i.repo, i.id)}
          >
            {i.repo}@{shortId(i.id)}
          </button>
        ))}
      </div>
      {job.output_commit ? (
        <div className="jp-Pipes-lineage">
          <span className="jp-Pipes-label">Output</span>
          <button
            className="jp-Pipes-link jp-Pipes-mono"
            onClick={() => void model.openCommit(job.pipeline, job.output_commit!)}
          >
            {job.pipeline}@{shortId(job.output_commit)}
          </button>
        </div>
      ) : null}
      {job.error ? (
        <div className="jp-Pipes-error jp-Pipes-jobError" role="alert">
          <strong>{errorText({ ...job.error, cell_index: null })}</strong>
          <div className="jp-Pipes-small">
            {job.failed > 1 ? `${job.failed} datums failed; the first: ` : ''}
            {job.error.datum ? `datum ${shortId(job.error.datum)}` : ''}
            {job.error.cell_index !== undefined && job.error.cell_index !== null
              ? `, cell ${job.error.cell_index}`
              : ''}
          </div>
        </div>
      ) : null}
      <div className="jp-Pipes-datumActions">
        <button
          className="jp-Pipes-button"
          onClick={() => run(commands, CommandIDs.jobLogs, { job: job.id, pipeline: job.pipeline })}
        >
          Job logs
        </button>
        {commands.hasCommand(CommandIDs.stopJob) && (job.state === 'created' || job.state === 'running') ? (
          <button
            className="jp-Pipes-button jp-Pipes-stopJob"
            aria-label={`Stop job ${shortId(job.id)} of ${job.pipeline}`}
            onClick={() => run(commands, CommandIDs.stopJob, { job: job.id, pipeline: job.pipeline, state: job.state })}
          >
            Stop job…
          </button>
        ) : null}
        {commands.hasCommand(CommandIDs.rerunJob) && job.done ? (
          <button
            className="jp-Pipes-button jp-Pipes-rerunJob"
            aria-label={`Rerun job ${shortId(job.id)} of ${job.pipeline}`}
            onClick={() => run(commands, CommandIDs.rerunJob, { job: job.id, pipeline: job.pipeline, state: job.state })}
          >
            Rerun job…
          </button>
        ) : null}
      </div>
      <h4 className="jp-Pipes-subheading">Datums</h4>
      {jobs.datums.length > 0 ? (
        <div className="jp-Pipes-filters">
          <FilterSelect<DatumStateFilter>
            label="Datum state"
            value={jobs.datumFilter}
            choices={choices}
            onChange={s => jobs.setDatumFilter(s)}
          />
        </div>
      ) : null}
      {jobs.datums.length === 0 ? (
        <Empty>{job.total === 0 ? 'No datums.' : job.done ? 'Loading…' : 'No datum has started yet.'}</Empty>
      ) : datums.length === 0 ? (
        <Empty>No {jobs.datumFilter} datum among those loaded.</Empty>
      ) : (
        <ul className="jp-Pipes-list" aria-label="Datums" onKeyDown={onListKeyDown}>
          {datums.map(d => (
            <DatumRow key={d.id} datum={d} job={job} />
          ))}
        </ul>
      )}
      {jobs.hasMoreDatums ? (
        <button className="jp-Pipes-button jp-Pipes-more" onClick={() => void jobs.loadMoreDatums()}>
          More datums
        </button>
      ) : null}
    </div>
  );
}
