/**
 * Small presentational pieces: badges, empty states, errors, the datum progress bar.
 */
import { LabIcon } from '@jupyterlab/ui-components';
import React from 'react';

import { progress } from '../model/jobs';
import { NodeState } from '../model/dag';
import { IJob, Origin } from '../model/types';

export function OriginBadge({ origin }: { origin: Origin }): JSX.Element {
  const titles: Record<Origin, string> = {
    user: 'committed by a user',
    auto: 'written by a pipeline',
    revert: 'a revert: restores an older commit'
  };
  return (
    <span className={`jp-Pipes-badge jp-Pipes-origin-${origin}`} title={titles[origin]}>
      {origin}
    </span>
  );
}

export function StateBadge({ state, label }: { state: NodeState; label?: string }): JSX.Element {
  return (
    <span className={`jp-Pipes-badge jp-Pipes-state jp-Pipes-state-${state}`} data-state={state}>
      {label ?? state}
    </span>
  );
}

export function Empty({ children }: { children: React.ReactNode }): JSX.Element {
  return <div className="jp-Pipes-empty">{children}</div>;
}

export function ErrorMessage({ message }: { message: string | null }): JSX.Element | null {
  return message ? (
    <div className="jp-Pipes-error" role="alert">
      {message}
    </div>
  ) : null;
}

/** Processed / skipped / failed datums of the total, as one bar with three segments. */
export function ProgressBar({ job }: { job: IJob }): JSX.Element {
  const p = progress(job);
  const label =
    `${job.processed} processed, ${job.skipped} skipped, ${job.failed} failed ` +
    `of ${job.total} datum${job.total === 1 ? '' : 's'}`;
  const done = job.processed + job.skipped + job.failed;
  return (
    <div
      className="jp-Pipes-progress"
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={job.total}
      aria-valuenow={done}
      title={label}
    >
      <span className="jp-Pipes-progress-processed" style={{ width: `${p.processed}%` }} />
      <span className="jp-Pipes-progress-skipped" style={{ width: `${p.skipped}%` }} />
      <span className="jp-Pipes-progress-failed" style={{ width: `${p.failed}%` }} />
    </div>
  );
}

/** A small toolbar button with a JupyterLab icon (its label is for screen readers too). */
export function IconButton(props: {
  icon: LabIcon;
  label: string;
  onClick: () => void;
  className?: string;
}): JSX.Element {
  return (
    <button
      className={`jp-Pipes-iconButton${props.className ? ' ' + props.className : ''}`}
      title={props.label}
      aria-label={props.label}
      onClick={props.onClick}
    >
      <props.icon.react tag="span" elementSize="normal" />
    </button>
  );
}
