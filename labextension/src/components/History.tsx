/**
 * The commit history of the selected branch, newest first, loaded page by page; the selected
 * commit's detail below it.
 */
import React from 'react';

import { Empty, ErrorMessage } from './bits';
import { CommitDetail } from './CommitDetail';
import { CommitRow } from './CommitRow';
import { onListKeyDown, usePipes, useSignals } from './context';

export function History(): JSX.Element {
  const { model } = usePipes();
  const history = model.history;
  useSignals(history.changed);
  if (!history.repo) {
    return (
      <Empty>
        Select a repo (or a branch) above to see its commits; select a commit to see its files,
        its diff and where it came from.
      </Empty>
    );
  }
  const head = history.commits[0]?.id;
  return (
    <div className="jp-Pipes-history">
      <ErrorMessage message={history.error} />
      {history.commits.length === 0 && !history.loading ? (
        <Empty>
          No commits on {history.repo}@{history.branch} yet: drop files on the repo to make one.
        </Empty>
      ) : null}
      <ul
        className="jp-Pipes-list jp-Pipes-commits"
        aria-label={`Commits of ${history.repo}@${history.branch}`}
        onKeyDown={onListKeyDown}
      >
        {history.commits.map(c => (
          <CommitRow
            key={c.id}
            commit={c}
            isHead={c.id === head}
            selected={history.selection?.commit.id === c.id}
          />
        ))}
      </ul>
      {history.hasMore ? (
        <button
          className="jp-Pipes-button jp-Pipes-more"
          disabled={history.loading}
          onClick={() => void history.loadMore()}
        >
          {history.loading ? 'Loading…' : 'Load older commits'}
        </button>
      ) : history.loading ? (
        <Empty>Loading…</Empty>
      ) : null}
      {history.selection ? <CommitDetail /> : null}
    </div>
  );
}
