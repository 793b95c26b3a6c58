/**
 * The lineage of one file, in the main area: the file, the datum and job that wrote it (the
 * pipeline's spec and notebook version, the cell, the executed notebook, the parameters), its
 * exact input files, and the same upstream, down to the user commits that wrote the data.
 */
import React, { useState } from 'react';

import { CommandIDs } from '../commandIds';
import { formatDuration, formatSize, shortId } from '../format';
import { Empty, ErrorMessage } from '../components/bits';
import { run, usePipes, useSignals } from '../components/context';
import { ILineage } from './api';
import { CommitLink, CommitNote, DatumLink, FileLink, GlobalId, JobLink } from './links';
import { Loader } from './loader';
import { IFileNode, IStepNode, lineageTree, splitKey } from './tree';

function FileItem({ node, root = false }: { node: IFileNode; root?: boolean }): JSX.Element {
  const { commands } = usePipes();
  const f = node.file;
  return (
    <li className="jp-PipesLineage-file" data-key={f.key} data-repo={f.repo} data-path={f.path}>
      <div className="jp-PipesLineage-row">
        <FileLink repo={f.repo} commit={f.commit} path={f.path} />
        <span className="jp-Pipes-muted jp-Pipes-mono" title={`Content hash ${f.hash}`}>
          {shortId(f.hash)}
        </span>
        <span className="jp-Pipes-muted">{formatSize(f.size_bytes)}</span>
        {f.via.length ? (
          <span className="jp-Pipes-muted">
            via revert {f.via.map(v => <CommitLink key={v} repo={f.repo} id={v} />)}
          </span>
        ) : null}
        {!root ? (
          <button
            className="jp-Pipes-link jp-PipesLineage-reroot"
            title={`Show the lineage of ${f.path} at ${f.repo}@${f.commit} on its own`}
            onClick={() =>
              run(commands, CommandIDs.showLineage, { repo: f.repo, commit: f.commit, path: f.path })
            }
          >
            lineage
          </button>
        ) : null}
      </div>
      {node.step ? (
        <ul className="jp-PipesLineage-children">
          <StepItem node={node.step} />
        </ul>
      ) : node.commit ? (
        <ul className="jp-PipesLineage-children">
          <li className="jp-PipesLineage-writer">
            <CommitNote commit={node.commit} />
          </li>
        </ul>
      ) : f.note ? (
        <div className="jp-Pipes-muted jp-PipesLineage-note">{f.note}</div>
      ) : null}
    </li>
  );
}

function StepItem({ node }: { node: IStepNode }): JSX.Element {
  const s = node.step;
  const code = s.notebook ? (
    <>
      notebook <span className="jp-Pipes-mono">{s.notebook}</span>{' '}
      <span className="jp-Pipes-muted jp-Pipes-mono" title={`Notebook content hash ${s.notebook_hash}`}>
        ({shortId(s.notebook_hash)})
      </span>
    </>
  ) : (
    <>
      command <code>{s.cmd.join(' ')}</code>
    </>
  );
  return (
    <li className="jp-PipesLineage-step" data-step={s.key} data-pipeline={s.pipeline}>
      <div className="jp-PipesLineage-row">
        <span className="jp-Pipes-badge jp-Pipes-origin-auto">{s.pipeline}</span>
        <DatumLink pipeline={s.pipeline} job={s.job} datum={s.datum} hasNotebook={s.has_notebook} />
        <span>of</span>
        <JobLink pipeline={s.pipeline} job={s.job} />
        <span className="jp-Pipes-muted">
          version {s.version}, spec{' '}
        </span>
        <CommitLink repo={s.pipeline} id={s.spec_commit} />
        <span>{code}</span>
        <GlobalId id={s.global_id} />
        {node.seen ? <span className="jp-Pipes-muted">(shown above)</span> : null}
      </div>
      {node.seen ? null : (
        <div className="jp-PipesLineage-stepDetail">
          {Object.keys(s.parameters).length ? (
            <div className="jp-Pipes-small">
              parameters:{' '}
              {Object.entries(s.parameters)
                .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
                .join(', ')}
            </div>
          ) : null}
          {s.cell ? <CellSource cell={s.cell} /> : null}
          {s.output_commit ? (
            <div className="jp-Pipes-small">
              first output commit <CommitLink repo={s.pipeline} id={s.output_commit} /> ·{' '}
              {formatDuration(s.duration_s)}
            </div>
          ) : null}
        </div>
      )}
      {node.inputs.length ? (
        <ul className="jp-PipesLineage-children">
          {node.inputs.map(({ input, files }) => (
            <li key={`${input.name}:${input.repo}:${input.path}`} className="jp-PipesLineage-input" data-input={input.name}>
              <div className="jp-PipesLineage-row">
                <span className="jp-Pipes-label">input {input.name}</span>
                <CommitLink repo={input.repo} id={input.commit} />
                <span className="jp-Pipes-mono">:{input.path}</span>
                {input.more_files ? (
                  <span className="jp-Pipes-muted">({input.more_files} more files not listed)</span>
                ) : null}
              </div>
              <ul className="jp-PipesLineage-children">
                {files.map(f => (
                  <FileItem key={f.file.key} node={f} />
                ))}
              </ul>
            </li>
          ))}
        </ul>
      ) : null}
    </li>
  );
}

function CellSource({ cell }: { cell: NonNullable<IStepNode['step']['cell']> }): JSX.Element {
  const [open, setOpen] = useState(false);
  const lines = cell.source.split('\n');
  return (
    <div className="jp-PipesLineage-cell">
      <button
        className="jp-Pipes-link"
        aria-expanded={open}
        title="The cell that was running when the file appeared or last changed"
        onClick={() => setOpen(!open)}
      >
        cell {cell.index} [{cell.execution_count ?? ' '}]: {lines[0]}
        {lines.length > 1 ? ' …' : ''}
      </button>
      {open ? <pre className="jp-PipesLineage-source">{cell.source}</pre> : null}
    </div>
  );
}

export function LineageView({ loader }: { loader: Loader<ILineage> }): JSX.Element {
  const { commands } = usePipes();
  useSignals(loader.changed);
  const lin = loader.data;
  const tree = lin ? lineageTree(lin) : null;
  const root = lin ? splitKey(lin.root) : null;
  return (
    <div className="jp-PipesLineage" aria-label="Lineage">
      <ErrorMessage message={loader.error} />
      {!lin ? (
        loader.error ? null : <Empty>Tracing the lineage…</Empty>
      ) : (
        <>
          <div className="jp-PipesLineage-header">
            <h2 className="jp-PipesLineage-title">
              Lineage of <span className="jp-Pipes-mono">{root!.path}</span>
            </h2>
            <span className="jp-Pipes-muted">
              {lin.steps.length} datum step{lin.steps.length === 1 ? '' : 's'}, {lin.files.length} file
              {lin.files.length === 1 ? '' : 's'}
            </span>
            <button
              className="jp-Pipes-button"
              title="Compare this version of the file with another one: why did it change?"
              onClick={() =>
                run(commands, CommandIDs.compareFile, { repo: root!.repo, commit: root!.ref, path: root!.path })
              }
            >
              Compare with…
            </button>
          </div>
          {lin.truncated ? (
            <div className="jp-Pipes-muted">The walk stopped at its file limit: upstream is incomplete.</div>
          ) : null}
          <ul className="jp-PipesLineage-tree">{tree ? <FileItem node={tree} root /> : null}</ul>
        </>
      )}
    </div>
  );
}
