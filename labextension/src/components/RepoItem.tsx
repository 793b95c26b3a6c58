/**
 * One repo: select it (its history), pick a branch, drop files on it or on a branch to upload
 * them (one commit per file, after a message), drop files or folders from JupyterLab's file
 * browser to commit them (“Commit to repo…”), or choose files with the upload button. An
 * output repo whose newest job failed or could not run says so.
 */
import { fileUploadIcon } from '@jupyterlab/ui-components';
import { Drag } from '@lumino/dragdrop';
import React, { useEffect, useRef, useState } from 'react';

import { CommandIDs } from '../commandIds';
import { formatSize, relativeTime, shortId } from '../format';
import { branchOwner, defaultBranch, DRIVE_NAME, IRepo, isInternalBranch, IUploadFile, repoMark } from '../model';
import { IconButton, RepoMarkBadge, RowMenuButton } from './bits';
import { run, usePipes } from './context';
import { uploadDialog } from '../dialogs';

/** What JupyterLab's file browser puts in a drag: the workspace paths of the dragged items. */
const CONTENTS_MIME = 'application/x-jupyter-icontents';

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

/** Workspace paths dragged from JupyterLab's file browser (not from the `pipes:` drive). */
function workspacePaths(event: Drag.Event): string[] {
  if (!event.mimeData.hasData(CONTENTS_MIME)) {
    return [];
  }
  const paths = event.mimeData.getData(CONTENTS_MIME) as string[];
  return (paths ?? []).filter(p => typeof p === 'string' && !p.startsWith(`${DRIVE_NAME}:`));
}

/**
 * A drop target for both kinds of drag: files from the desktop (HTML drag and drop) and items
 * of JupyterLab's file browser (Lumino's `lm-*` drag events).
 */
function useDrop(
  onFiles: (files: IUploadFile[]) => void,
  onWorkspace: (paths: string[]) => void,
  refused: boolean
) {
  const [over, setOver] = useState(false);
  const ref = useRef<HTMLElement | null>(null);
  const latest = useRef(onWorkspace);
  latest.current = onWorkspace;
  const closed = useRef(refused);
  closed.current = refused; // a pipeline's branch takes no drop: the browser shows “no drop”
  useEffect(() => {
    const node = ref.current;
    if (!node) {
      return;
    }
    const listener = (e: Event) => {
      const event = e as Drag.Event;
      if (closed.current || !event.mimeData?.hasData(CONTENTS_MIME)) {
        return;
      }
      switch (event.type) {
        case 'lm-dragenter':
          event.preventDefault();
          event.stopPropagation();
          break;
        case 'lm-dragover':
          event.preventDefault();
          event.stopPropagation();
          // the file browser offers “move”; nothing moves: the files are committed
          event.dropAction = event.proposedAction;
          setOver(true);
          break;
        case 'lm-dragleave':
          setOver(false);
          break;
        case 'lm-drop': {
          event.preventDefault();
          event.stopPropagation();
          setOver(false);
          event.dropAction = 'copy' === event.proposedAction ? 'copy' : event.proposedAction;
          const paths = workspacePaths(event);
          if (paths.length) {
            latest.current(paths);
          }
          break;
        }
      }
    };
    const types = ['lm-dragenter', 'lm-dragover', 'lm-dragleave', 'lm-drop'];
    types.forEach(t => node.addEventListener(t, listener));
    return () => types.forEach(t => node.removeEventListener(t, listener));
  }, []);
  return {
    over,
    ref,
    handlers: {
      onDragOver: (e: React.DragEvent) => {
        if (!refused && Array.from(e.dataTransfer.types).includes('Files')) {
          e.preventDefault();
          e.stopPropagation();
          e.dataTransfer.dropEffect = 'copy';
          setOver(true);
        }
      },
      onDragLeave: () => setOver(false),
      onDrop: (e: React.DragEvent) => {
        if (refused) {
          return;
        }
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
  const { model, commands } = usePipes();
  const { repo, branch } = props;
  const owner = branchOwner(model.dag.dag, repo.name, branch);
  const drop = useDrop(
    files => void uploadDialog(model, repo.name, branch, files),
    paths => run(commands, CommandIDs.commitToRepo, { paths, repo: repo.name, branch }),
    owner !== null
  );
  return (
    <button
      ref={drop.ref as React.RefObject<HTMLButtonElement>}
      className={`jp-Pipes-chip${props.current ? ' jp-mod-current' : ''}${drop.over ? ' jp-mod-dropTarget' : ''}`}
      aria-pressed={props.current}
      aria-label={`History of ${repo.name}@${branch}`}
      title={
        owner
          ? `Show the history of ${repo.name}@${branch} (written only by pipeline ${owner})`
          : `Show the history of ${repo.name}@${branch}; drop files here to commit them`
      }
      data-branch={branch}
      onClick={() => void model.selectBranch(repo.name, branch)}
      {...drop.handlers}
    >
      {branch}
    </button>
  );
}

export function RepoItem({ repo }: { repo: IRepo }): JSX.Element {
  const { model, commands } = usePipes();
  const input = useRef<HTMLInputElement>(null);
  const selected = model.history.repo === repo.name;
  const target = selected && model.history.branch ? model.history.branch : defaultBranch(repo);
  const owner = branchOwner(model.dag.dag, repo.name, target);
  const drop = useDrop(
    files => void uploadDialog(model, repo.name, target, files),
    paths => run(commands, CommandIDs.commitToRepo, { paths, repo: repo.name, branch: target }),
    owner !== null
  );
  const last = model.repos.lastCommit(repo);
  const dag = model.dag.dag;
  const node = model.dag.node(`repo:${repo.name}`);
  const output = !!node && node.kind === 'repo' && !!node.output_of;
  const mark = repoMark(dag, repo.name);
  const branches = model.repos.showInternal
    ? repo.branches
    : repo.branches.filter(b => !isInternalBranch(dag, repo.name, b));
  return (
    <li
      ref={drop.ref as React.RefObject<HTMLLIElement>}
      className={`jp-Pipes-repo${selected ? ' jp-mod-selected' : ''}${drop.over ? ' jp-mod-dropTarget' : ''}`}
      data-repo={repo.name}
      data-branch={target}
      data-output={output ? '1' : '0'}
      data-menu-kind="repo"
      {...drop.handlers}
    >
      <div className="jp-Pipes-row">
        <button
          data-row
          className="jp-Pipes-rowMain"
          aria-current={selected}
          aria-label={`Repo ${repo.name}, ${formatSize(repo.size_bytes)}${mark ? `, ${mark.label}` : ''}`}
          onClick={() => void model.selectBranch(repo.name, target)}
        >
          <span className="jp-Pipes-repoName">{repo.name}</span>
          <span className="jp-Pipes-repoMeta">
            <RepoMarkBadge mark={mark} />
            <span className="jp-Pipes-muted">{formatSize(repo.size_bytes)}</span>
          </span>
        </button>
        <IconButton
          icon={fileUploadIcon}
          label={
            owner
              ? `${repo.name}@${target} is written only by pipeline ${owner}: no uploads (a revert stays allowed)`
              : `Upload files into ${repo.name}@${target} (one commit per file)`
          }
          disabled={owner !== null}
          onClick={() => input.current?.click()}
        />
        <RowMenuButton
          kind="repo"
          args={{ repo: repo.name, branch: target, output: output ? '1' : '0' }}
          label={`Actions for repo ${repo.name}`}
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
              void uploadDialog(model, repo.name, target, files);
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
        {branches.map(b => (
          <BranchChip key={b} repo={repo} branch={b} current={selected && model.history.branch === b} />
        ))}
      </div>
    </li>
  );
}
