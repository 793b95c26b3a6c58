/**
 * One job: its inputs and output, the error of a failed job, its datums (open any executed
 * notebook in JupyterLab), and logs.
 */
import { closeIcon } from '@jupyterlab/ui-components';
import React from 'react';

import { CommandIDs } from '../commandIds';
import { formatDuration, shortId } from '../format';
import { IDatum } from '../model';
import { Empty, IconButton } from './bits';
import { run, usePipes } from './context';

function DatumRow({ datum, pipeline }: { datum: IDatum; pipeline: string }): JSX.Element {
  const { model, commands } = usePipes();
  const inputs = datum.inputs.map(i => `${i.name}:${i.path}`).join(', ');
  return (
    <li className={`jp-Pipes-datum jp-Pipes-datum-${datum.state}`} data-datum={datum.id}>
      <div className="jp-Pipes-row">
        <span className={`jp-Pipes-badge jp-Pipes-datumState-${datum.state}`}>{datum.state}</span>
        <span className="jp-Pipes-mono" title={datum.id}>
          {shortId(datum.id)}
        </span>
        <span className="jp-Pipes-muted">{formatDuration(datum.duration_s)}</span>
        {datum.tries > 1 ? <span className="jp-Pipes-muted">{datum.tries} tries</span> : null}
      </div>
      <div className="jp-Pipes-small jp-Pipes-ellipsis" title={inputs}>
        {inputs}
      </div>
      {datum.error ? (
        <div className="jp-Pipes-error jp-Pipes-small">
          {datum.error.ename}: {datum.error.evalue}
          {datum.error.cell_index !== undefined && datum.error.cell_index !== null
            ? ` (cell ${datum.error.cell_index})`
            : ''}
        </div>
      ) : null}
      <div className="jp-Pipes-datumActions">
        {datum.has_notebook ? (
          <button
            className="jp-Pipes-button"
            aria-label={`Open the executed notebook of datum ${shortId(datum.id)}`}
            onClick={() =>
              run(commands, CommandIDs.openNotebook, { job: datum.job, datum: datum.id, pipeline })
            }
          >
            Open notebook
          </button>
        ) : null}
        {datum.state !== 'skipped' ? (
          <button
            className="jp-Pipes-button"
            aria-label={`Show the log of datum ${shortId(datum.id)}`}
            onClick={() => void model.jobs.showLog(datum.id)}
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
  const { model } = usePipes();
  const jobs = model.jobs;
  const job = jobs.job;
  if (!job) {
    return null;
  }
  return (
    <div className="jp-Pipes-jobDetail" aria-label={`Job ${shortId(job.id)}`}>
      {job.reason ? <div className="jp-Pipes-small jp-Pipes-muted">{job.reason}</div> : null}
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
        <div className="jp-Pipes-error" role="alert">
          <strong>
            {job.error.ename ?? 'Error'}: {job.error.evalue ?? ''}
          </strong>
          <div className="jp-Pipes-small">
            {job.error.datum ? `datum ${shortId(job.error.datum)}` : ''}
            {job.error.cell_index !== undefined && job.error.cell_index !== null
              ? `, cell ${job.error.cell_index}`
              : ''}
          </div>
        </div>
      ) : null}
      <div className="jp-Pipes-datumActions">
        <button className="jp-Pipes-button" onClick={() => void jobs.showLog()}>
          Job logs
        </button>
      </div>
      {jobs.log ? (
        <div className="jp-Pipes-log">
          <div className="jp-Pipes-row">
            <span className="jp-Pipes-label">{jobs.log.title}</span>
            <IconButton icon={closeIcon} label="Close the log" onClick={() => jobs.hideLog()} />
          </div>
          <pre tabIndex={0} aria-label={jobs.log.title}>
            {jobs.log.text}
          </pre>
        </div>
      ) : null}
      <h4 className="jp-Pipes-subheading">Datums</h4>
      {jobs.datums.length === 0 ? (
        <Empty>{job.total === 0 ? 'No datums.' : 'Loading…'}</Empty>
      ) : (
        <ul className="jp-Pipes-list" aria-label="Datums">
          {jobs.datums.map(d => (
            <DatumRow key={d.id} datum={d} pipeline={job.pipeline} />
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
