/**
 * One repo: select it (its history), pick a branch, drop files on it or on a branch to upload
 * them (one commit per file), or choose files with the upload button.
 */
import { fileUploadIcon } from '@jupyterlab/ui-components';
import React, { useRef, useState } from 'react';

import { formatSize, relativeTime, shortId } from '../format';
import { defaultBranch, IRepo, IUploadFile } from '../model';
import { IconButton } from './bits';
import { usePipes } from './context';

/** The files of a drop (folders are left out: only files become commits). */
function droppedFiles(event: React.DragEvent): IUploadFile[] {
  const items = Array.from(event.dataTransfer.items ?? []);
  const folders = new Set(
    items
      .map(item => (item.webkitGetAsEntry ? item.webkitGetAsEntry() : null))
      .filter(entry => entry?.isDirectory)
      .map(entry => entry!.name)
  );
  return Array.from(event.dataTransfer.files)
    .filter(f => !folders.has(f.name))
    .map(f => ({ name: f.name, body: f }));
}

function useDrop(onFiles: (files: IUploadFile[]) => void) {
  const [over, setOver] = useState(false);
  return {
    over,
    handlers: {
      onDragOver: (e: React.DragEvent) => {
        if (Array.from(e.dataTransfer.types).includes('Files')) {
          e.preventDefault();
          e.stopPropagation();
          e.dataTransfer.dropEffect = 'copy';
          setOver(true);
        }
      },
      onDragLeave: () => setOver(false),
      onDrop: (e: React.DragEvent) => {
        e.preventDefault();
        e.stopPropagation();
        setOver(false);
        const files = droppedFiles(e);
        if (files.length) {
          onFiles(files);
        }
      }
    }
  };
}

function BranchChip(props: { repo: IRepo; branch: string; current: boolean }): JSX.Element {
  const { model } = usePipes();
  const { repo, branch } = props;
  const drop = useDrop(files => void model.repos.uploadFiles(repo.name, branch, files));
  return (
    <button
      className={`jp-Pipes-chip${props.current ? ' jp-mod-current' : ''}${drop.over ? ' jp-mod-dropTarget' : ''}`}
      aria-pressed={props.current}
      aria-label={`History of ${repo.name}@${branch}`}
      title={`Show the history of ${repo.name}@${branch}; drop files here to commit them`}
      onClick={() => void model.selectBranch(repo.name, branch)}
      {...drop.handlers}
    >
      {branch}
    </button>
  );
}

export function RepoItem({ repo }: { repo: IRepo }): JSX.Element {
  const { model } = usePipes();
  const input = useRef<HTMLInputElement>(null);
  const selected = model.history.repo === repo.name;
  const target = selected && model.history.branch ? model.history.branch : defaultBranch(repo);
  const drop = useDrop(files => void model.repos.uploadFiles(repo.name, target, files));
  const last = model.repos.lastCommit(repo);
  return (
    <li
      className={`jp-Pipes-repo${selected ? ' jp-mod-selected' : ''}${drop.over ? ' jp-mod-dropTarget' : ''}`}
      data-repo={repo.name}
      {...drop.handlers}
    >
      <div className="jp-Pipes-row">
        <button
          data-row
          className="jp-Pipes-rowMain"
          aria-current={selected}
          aria-label={`Repo ${repo.name}, ${formatSize(repo.size_bytes)}`}
          onClick={() => void model.selectBranch(repo.name, target)}
        >
          <span className="jp-Pipes-repoName">{repo.name}</span>
          <span className="jp-Pipes-muted">{formatSize(repo.size_bytes)}</span>
        </button>
        <IconButton
          icon={fileUploadIcon}
          label={`Upload files into ${repo.name}@${target} (one commit per file)`}
          onClick={() => input.current?.click()}
        />
        <input
          ref={input}
          type="file"
          multiple
          hidden
          onChange={e => {
            const files = Array.from(e.target.files ?? []).map(f => ({ name: f.name, body: f }));
            e.target.value = '';
            if (files.length) {
              void model.repos.uploadFiles(repo.name, target, files);
            }
          }}
        />
      </div>
      {repo.description ? <div className="jp-Pipes-muted jp-Pipes-small">{repo.description}</div> : null}
      <div className="jp-Pipes-small jp-Pipes-lastCommit">
        {last ? (
          <span title={last.message}>
            {shortId(last.id)} · {last.message || <em>no message</em>} · {relativeTime(last.finished ?? last.started)}
          </span>
        ) : repo.last_commit ? (
          shortId(repo.last_commit)
        ) : (
          <span className="jp-Pipes-muted">empty: drop files here to make the first commit</span>
        )}
      </div>
      <div className="jp-Pipes-chips" role="group" aria-label={`Branches of ${repo.name}`}>
        {repo.branches.map(b => (
          <BranchChip key={b} repo={repo} branch={b} current={selected && model.history.branch === b} />
        ))}
      </div>
    </li>
  );
}
