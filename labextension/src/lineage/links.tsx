/**
 * Links of the lineage views: every commit, job, datum and file is one. A commit opens in the
 * sidebar's history (its detail selected), a job in the sidebar's jobs, a datum's executed
 * notebook in a read-only tab, a file in JupyterLab's viewer for it.
 */
import React from 'react';

import { CommandIDs } from '../commandIds';
import { exactTime, shortId } from '../format';
import { filePath, canOpen } from '../model';
import { run, usePipes } from '../components/context';
import { ILineageCommit } from './api';

/** Show the sidebar, then do `then` there. */
function inSidebar(commands: ReturnType<typeof usePipes>['commands'], then: () => Promise<void>) {
  commands
    .execute(CommandIDs.open)
    .then(then)
    .catch(error => console.error('jupyter-pipes: could not show it in the sidebar', error));
}

export function CommitLink(props: { repo: string; id: string | null; label?: string }): JSX.Element {
  const { model, commands } = usePipes();
  if (!props.id) {
    return <span className="jp-Pipes-muted">none</span>;
  }
  const id = props.id;
  return (
    <button
      className="jp-Pipes-link jp-Pipes-mono jp-PipesLineage-commitLink"
      data-commit={id}
      title={`Show commit ${props.repo}@${id} in the sidebar`}
      onClick={() => inSidebar(commands, () => model.openCommit(props.repo, id))}
    >
      {props.label ?? `${props.repo}@${shortId(id)}`}
    </button>
  );
}

export function JobLink(props: { pipeline: string; job: string }): JSX.Element {
  const { model, commands } = usePipes();
  return (
    <button
      className="jp-Pipes-link jp-Pipes-mono jp-PipesLineage-jobLink"
      data-job={props.job}
      title={`Show job ${props.job} of ${props.pipeline} in the sidebar`}
      onClick={() =>
        inSidebar(commands, async () => {
          await model.selectPipeline(props.pipeline);
          await model.jobs.select(props.job);
        })
      }
    >
      job {shortId(props.job)}
    </button>
  );
}

/** A datum: opens its executed notebook when kept, else its job's datums. */
export function DatumLink(props: {
  pipeline: string;
  job: string;
  datum: string;
  hasNotebook: boolean;
}): JSX.Element {
  const { model, commands } = usePipes();
  return (
    <button
      className="jp-Pipes-link jp-Pipes-mono jp-PipesLineage-datumLink"
      data-datum={props.datum}
      title={
        props.hasNotebook
          ? `Open the executed notebook of datum ${props.datum} (read-only)`
          : `Show datum ${props.datum} in its job`
      }
      onClick={() =>
        props.hasNotebook
          ? run(commands, CommandIDs.openNotebook, {
              job: props.job,
              datum: props.datum,
              pipeline: props.pipeline,
              notebook: '1'
            })
          : inSidebar(commands, async () => {
              await model.selectPipeline(props.pipeline);
              await model.jobs.select(props.job);
            })
      }
    >
      datum {shortId(props.datum)}
    </button>
  );
}

export function FileLink(props: { repo: string; commit: string; path: string }): JSX.Element {
  const { commands } = usePipes();
  const label = `${props.repo}@${shortId(props.commit)}:${props.path}`;
  if (!canOpen(props.path)) {
    return <span className="jp-Pipes-mono">{label}</span>;
  }
  return (
    <button
      className="jp-Pipes-link jp-Pipes-mono jp-PipesLineage-fileLink"
      title={`Open ${props.repo}@${props.commit}:${props.path} read-only`}
      onClick={() =>
        run(commands, CommandIDs.openFile, { path: filePath(props.repo, props.commit, props.path) })
      }
    >
      {label}
    </button>
  );
}

/** A user commit as lineage names it: who, when, message, global id. */
export function CommitNote({ commit }: { commit: ILineageCommit }): JSX.Element {
  const what = commit.origin === 'user' ? 'user commit' : `${commit.origin} commit`;
  return (
    <span className="jp-PipesLineage-commitNote">
      {what} <CommitLink repo={commit.repo} id={commit.id} />
      {commit.actor ? <> by {commit.actor}</> : null}
      {commit.time ? (
        <span title={exactTime(commit.time)}> at {new Date(commit.time).toLocaleString()}</span>
      ) : null}
      {commit.message ? <>: “{commit.message}”</> : null}
      <GlobalId id={commit.global_id} />
    </span>
  );
}

export function GlobalId({ id }: { id: string | null }): JSX.Element | null {
  return id ? (
    <span className="jp-Pipes-muted jp-Pipes-mono" title={`Global commit ${id}`}>
      {' '}
      · global {shortId(id)}
    </span>
  ) : null;
}

/** The lineage actions of a file row (a commit's file list): Show lineage, Compare with…. */
export function FileLineageButtons(props: { repo: string; commit: string; path: string }): JSX.Element {
  const { commands } = usePipes();
  const args = { repo: props.repo, commit: props.commit, path: props.path };
  return (
    <span className="jp-PipesLineage-fileButtons">
      <button
        className="jp-Pipes-link jp-PipesLineage-show"
        title={`Show what made ${props.path}: datum, job, notebook, input files, upstream`}
        aria-label={`Show the lineage of ${props.path}`}
        onClick={() => run(commands, CommandIDs.showLineage, args)}
      >
        lineage
      </button>
      <button
        className="jp-Pipes-link jp-PipesLineage-compare"
        title={`Compare ${props.path} with its version at another commit`}
        aria-label={`Compare ${props.path} with another version`}
        onClick={() => run(commands, CommandIDs.compareFile, args)}
      >
        compare…
      </button>
    </span>
  );
}
