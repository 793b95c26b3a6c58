/**
 * One commit of a history: message, relative time, origin, size; select it (its detail opens
 * under it), revert the branch to it, or open its menu (“⋯”, right-click, or the context-menu
 * key): open its files, copy it to the workspace, copy its id, compare...
 */
import React from 'react';

import { CommandIDs } from '../commandIds';
import { exactTime, formatSize, relativeTime, shortId } from '../format';
import { ICommit } from '../model';
import { OriginBadge, RowMenuButton } from './bits';
import { run, usePipes } from './context';

export interface ICommitRowProps {
  commit: ICommit;
  isHead: boolean;
  selected: boolean;
}

export function CommitRow({ commit, isHead, selected }: ICommitRowProps): JSX.Element {
  const { model, commands } = usePipes();
  const when = commit.finished ?? commit.started;
  const branch = model.history.branch ?? '';
  const args = { repo: commit.repo, commit: commit.id, branch, head: isHead ? '1' : '0' };
  return (
    <li
      className={`jp-Pipes-commit${selected ? ' jp-mod-selected' : ''}`}
      data-commit={commit.id}
      data-repo={commit.repo}
      data-branch={branch}
      data-head={isHead ? '1' : '0'}
      data-origin={commit.origin}
      data-menu-kind="commit"
    >
      <button
        data-row
        className="jp-Pipes-rowMain jp-Pipes-commitMain"
        aria-current={selected}
        aria-expanded={selected}
        aria-label={`Commit ${shortId(commit.id)}: ${commit.message || 'no message'}`}
        onClick={() =>
          void (selected ? model.history.clearSelection() : model.history.select(commit.repo, commit.id))
        }
      >
        <span className="jp-Pipes-commitMessage">
          {commit.message || <em className="jp-Pipes-muted">no message</em>}
        </span>
        <span className="jp-Pipes-commitMeta">
          <OriginBadge origin={commit.origin} />
          {isHead ? <span className="jp-Pipes-badge jp-Pipes-head">head</span> : null}
          <span className="jp-Pipes-mono">{shortId(commit.id)}</span>
          <span title={exactTime(when)}>{relativeTime(when)}</span>
          <span>{formatSize(commit.size_bytes)}</span>
        </span>
      </button>
      <button
        className="jp-Pipes-button jp-Pipes-revert"
        disabled={isHead}
        title={
          isHead
            ? 'This commit is the head already'
            : `Revert ${commit.repo}@${branch} to this commit (a new commit restoring its files)`
        }
        aria-label={`Revert ${commit.repo}@${branch} to commit ${shortId(commit.id)}`}
        onClick={() => run(commands, CommandIDs.revert, args)}
      >
        Revert…
      </button>
      <RowMenuButton kind="commit" args={args} label={`Actions for commit ${shortId(commit.id)}`} />
    </li>
  );
}
