/**
 * Small presentational pieces: badges, empty states, errors, the datum progress bar.
 */
import { ellipsesIcon, LabIcon, searchIcon } from '@jupyterlab/ui-components';
import React from 'react';

import { openRowMenu, RowKind } from '../menus';
import { IRepoMark, NodeState, STATE_TITLES } from '../model/dag';
import { progress } from '../model/jobs';
import { IJob, Origin } from '../model/types';
import { usePipes } from './context';

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

/** A state in the one palette (`--jp-pipes-state-*`); `starting` reads “starting cluster”. */
export function StateBadge({ state, label }: { state: NodeState; label?: string }): JSX.Element {
  return (
    <span
      className={`jp-Pipes-badge jp-Pipes-state jp-Pipes-state-${state}`}
      data-state={state}
      title={STATE_TITLES[state]}
    >
      {state === 'starting' ? 'starting cluster' : (label ?? state)}
    </span>
  );
}

/** The mark of an output repo that is not current (last job failed, stale, updating). */
export function RepoMarkBadge({ mark }: { mark: IRepoMark | null }): JSX.Element | null {
  if (!mark) {
    return null;
  }
  return (
    <span
      className={`jp-Pipes-badge jp-Pipes-mark jp-Pipes-mark-${mark.kind}`}
      data-mark={mark.kind}
      title={mark.title}
      aria-label={mark.title}
    >
      {mark.label}
    </span>
  );
}

/** A search box over a list (filters as you type; Escape clears it). */
export function FilterBox(props: {
  value: string;
  label: string;
  placeholder: string;
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <div className="jp-Pipes-filter">
      <searchIcon.react tag="span" className="jp-Pipes-filterIcon" elementSize="normal" />
      <input
        type="search"
        className="jp-Pipes-filterInput"
        value={props.value}
        aria-label={props.label}
        placeholder={props.placeholder}
        onChange={e => props.onChange(e.target.value)}
        onKeyDown={e => {
          if (e.key === 'Escape' && props.value) {
            e.stopPropagation();
            props.onChange('');
          }
        }}
      />
    </div>
  );
}

/** A `<select>` of filter choices. */
export function FilterSelect<T extends string>(props: {
  value: T;
  label: string;
  choices: Array<[T, string]>;
  onChange: (value: T) => void;
}): JSX.Element {
  return (
    <select
      className="jp-Pipes-filterSelect"
      aria-label={props.label}
      value={props.value}
      onChange={e => props.onChange(e.target.value as T)}
    >
      {props.choices.map(([value, text]) => (
        <option key={value} value={value}>
          {text}
        </option>
      ))}
    </select>
  );
}

/** The “⋯” button of a row: its menu of actions (the same as its context menu). */
export function RowMenuButton(props: {
  kind: RowKind;
  args: Record<string, string>;
  label: string;
}): JSX.Element {
  const { commands } = usePipes();
  return (
    <button
      className="jp-Pipes-iconButton jp-Pipes-rowMenuButton"
      title={props.label}
      aria-label={props.label}
      aria-haspopup="menu"
      onClick={e => {
        e.stopPropagation();
        openRowMenu(commands, props.kind, props.args, e.currentTarget);
      }}
    >
      <ellipsesIcon.react tag="span" elementSize="normal" />
    </button>
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
  disabled?: boolean;
}): JSX.Element {
  return (
    <button
      className={`jp-Pipes-iconButton${props.className ? ' ' + props.className : ''}`}
      title={props.label}
      aria-label={props.label}
      disabled={props.disabled}
      onClick={props.onClick}
    >
      <props.icon.react tag="span" elementSize="normal" />
    </button>
  );
}
