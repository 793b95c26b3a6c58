/**
 * The selected commit: where it came from (provenance, the commit a revert restores), what was
 * computed from it (subvenance), its files (open them in JupyterLab) and its diff against its
 * parent (line diffs of text files on demand).
 */
import { closeIcon, downloadIcon, folderIcon } from '@jupyterlab/ui-components';
import React from 'react';

import { CommandIDs } from '../commandIds';
import { exactTime, formatSize, shortId } from '../format';
import { canOpen, filePath, ICommitRef } from '../model';
import { Empty, ErrorMessage, OriginBadge, IconButton } from './bits';
import { run, usePipes } from './context';
import { DiffList } from './DiffList';
import { FileLineageButtons } from '../lineage/links';

function CommitLink({ target }: { target: ICommitRef }): JSX.Element {
  const { model } = usePipes();
  const label = `${target.repo}@${target.branch ? target.branch + ':' : ''}${shortId(target.id)}`;
  return (
    <button
      className="jp-Pipes-link jp-Pipes-mono"
      title={`Show commit ${target.repo}@${target.id}`}
      onClick={() => void model.openCommit(target.repo, target.id)}
    >
      {label}
    </button>
  );
}

export function CommitDetail(): JSX.Element | null {
  const { model, commands } = usePipes();
  const sel = model.history.selection;
  if (!sel) {
    return null;
  }
  const c = sel.commit;
  const files = (sel.files ?? []).filter(f => f.type === 'file');
  const branch = model.history.branch;
  const isHead = model.history.commits[0]?.id === c.id;
  return (
    <div className="jp-Pipes-commitDetail" aria-label={`Commit ${shortId(c.id)}`} data-commit={c.id} data-repo={c.repo}>
      <div className="jp-Pipes-detailHeader">
        <span className="jp-Pipes-mono">
          {c.repo}@{shortId(c.id)}
        </span>
        <OriginBadge origin={c.origin} />
        <IconButton icon={closeIcon} label="Close the commit detail" onClick={() => model.history.clearSelection()} />
      </div>
      <div className="jp-Pipes-small">
        {c.message || <em>no message</em>} · {exactTime(c.finished ?? c.started)} ·{' '}
        {c.file_count} file{c.file_count === 1 ? '' : 's'}, {formatSize(c.size_bytes)}
      </div>
      <div className="jp-Pipes-detailActions">
        {!isHead && c.repo === model.history.repo ? (
          <button
            className="jp-Pipes-button jp-Pipes-revert"
            onClick={() => run(commands, CommandIDs.revert, { repo: c.repo, commit: c.id, branch: branch ?? '' })}
          >
            Revert to this commit
          </button>
        ) : null}
        {commands.hasCommand(CommandIDs.openCommitFiles) && commands.isVisible(CommandIDs.openCommitFiles) ? (
          <button
            className="jp-Pipes-button"
            title="Browse this commit read-only in the Pipes files panel"
            onClick={() => run(commands, CommandIDs.openCommitFiles, { repo: c.repo, commit: c.id })}
          >
            <folderIcon.react tag="span" elementSize="normal" className="jp-Pipes-buttonIcon" /> Open files
          </button>
        ) : null}
        <button
          className="jp-Pipes-button"
          title="Copy every file of this commit into a folder of the workspace"
          onClick={() => run(commands, CommandIDs.copyToWorkspace, { repo: c.repo, commit: c.id, path: '/' })}
        >
          <downloadIcon.react tag="span" elementSize="normal" className="jp-Pipes-buttonIcon" /> Copy to workspace…
        </button>
      </div>
      <ErrorMessage message={sel.error} />
      {c.restores ? (
        <div className="jp-Pipes-lineage">
          Restores <CommitLink target={{ repo: c.repo, id: c.restores, branch: null }} />
        </div>
      ) : null}
      <div className="jp-Pipes-lineage" aria-label="Provenance">
        <span className="jp-Pipes-label">From</span>
        {c.provenance.length ? (
          c.provenance.map(p => <CommitLink key={`${p.repo}@${p.id}`} target={p} />)
        ) : (
          <span className="jp-Pipes-muted">no upstream commits (a user commit)</span>
        )}
      </div>
      {c.subvenance.length ? (
        <div className="jp-Pipes-lineage" aria-label="Subvenance">
          <span className="jp-Pipes-label">Used by</span>
          {c.subvenance.map(s => (
            <CommitLink key={`${s.repo}@${s.id}`} target={s} />
          ))}
        </div>
      ) : null}
      <h4 className="jp-Pipes-subheading">Files</h4>
      {sel.files === null ? (
        <Empty>Loading…</Empty>
      ) : files.length === 0 ? (
        <Empty>No files.</Empty>
      ) : (
        <ul className="jp-Pipes-list jp-Pipes-files" aria-label="Files">
          {files.map(f => (
            <li key={f.path} className="jp-Pipes-file" data-path={f.path}>
              {canOpen(f.path) ? (
                <button
                  className="jp-Pipes-link"
                  title={`Open ${f.path} read-only in JupyterLab`}
                  aria-label={`Open ${f.path}`}
                  onClick={() => run(commands, CommandIDs.openFile, { path: filePath(c.repo, c.id, f.path) })}
                >
                  {f.path}
                </button>
              ) : (
                <span>{f.path}</span>
              )}
              <span className="jp-Pipes-muted">{formatSize(f.size_bytes)}</span>
              <FileLineageButtons repo={c.repo} commit={c.id} path={f.path} />
              <IconButton
                icon={downloadIcon}
                label={`Copy ${f.path} to the workspace`}
                onClick={() => run(commands, CommandIDs.copyToWorkspace, { repo: c.repo, commit: c.id, path: f.path })}
              />
            </li>
          ))}
        </ul>
      )}
      <h4 className="jp-Pipes-subheading">
        Changes since {c.parent ? shortId(c.parent) : 'nothing (first commit)'}
      </h4>
      <DiffList />
    </div>
  );
}
