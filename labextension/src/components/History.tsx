/**
 * The commit history of the selected branch, newest first, loaded page by page and searchable
 * (message words, id prefixes); the selected commit's detail opens under its row.
 */
import React from 'react';

import { Empty, ErrorMessage, FilterBox } from './bits';
import { CommitDetail } from './CommitDetail';
import { CommitRow } from './CommitRow';
import { BranchMetrics } from '../lineage/MetricsView';
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
  const visible = history.visible;
  const selected = history.selection?.commit.id;
  return (
    <div className="jp-Pipes-history">
      <ErrorMessage message={history.error} />
      {history.commits.length === 0 && !history.loading ? (
        <Empty>
          No commits on {history.repo}@{history.branch} yet: drop files on the repo to make one.
        </Empty>
      ) : (
        <div className="jp-Pipes-filters">
          <FilterBox
            value={history.filter}
            label={`Search the commits of ${history.repo}@${history.branch}`}
            placeholder="Search messages or ids"
            onChange={q => history.setFilter(q)}
          />
        </div>
      )}
      <BranchMetrics />
      <ul
        className="jp-Pipes-list jp-Pipes-commits"
        aria-label={`Commits of ${history.repo}@${history.branch}`}
        onKeyDown={onListKeyDown}
      >
        {visible.map(c => (
          <React.Fragment key={c.id}>
            <CommitRow commit={c} isHead={c.id === head} selected={selected === c.id} />
            {selected === c.id ? (
              <li className="jp-Pipes-commitDetailItem">
                <CommitDetail />
              </li>
            ) : null}
          </React.Fragment>
        ))}
      </ul>
      {history.filter && visible.length === 0 ? (
        <Empty>
          No loaded commit matches “{history.filter}”
          {history.hasMore ? ': load older commits to search further.' : '.'}
        </Empty>
      ) : null}
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
      {/* a commit reached by a link (provenance) that is not in the list shows here */}
      {history.selection && !visible.some(c => c.id === selected) ? <CommitDetail /> : null}
    </div>
  );
}
