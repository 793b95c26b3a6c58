/**
 * Every repo with its branches, size and last commit, searchable by name and description.
 * Files dropped on a repo (or one of its branches) are uploaded into that branch, one commit
 * per file; items dragged from JupyterLab's file browser are committed (“Commit to repo…”).
 */
import { closeIcon } from '@jupyterlab/ui-components';
import React from 'react';

import { CommandIDs } from '../commandIds';
import { Empty, ErrorMessage, FilterBox, IconButton } from './bits';
import { onListKeyDown, run, usePipes, useSignals } from './context';
import { RepoItem } from './RepoItem';

export function RepoList(): JSX.Element {
  const { model, commands } = usePipes();
  const repos = model.repos;
  useSignals(repos.changed, model.history.changed, model.dag.changed);
  if (!repos.loaded) {
    return <Empty>Loading…</Empty>;
  }
  const upload = repos.upload;
  return (
    <>
      <ErrorMessage message={repos.error} />
      {upload ? (
        <div className="jp-Pipes-upload" role="status">
          {upload.error ??
            (upload.done < upload.total
              ? `Uploading ${upload.current} to ${upload.repo}@${upload.branch} (${upload.done + 1}/${upload.total})…`
              : `Uploaded ${upload.total} file${upload.total === 1 ? '' : 's'} to ${upload.repo}@${upload.branch} (one commit each).`)}
          <IconButton icon={closeIcon} label="Dismiss" onClick={() => repos.clearUpload()} />
        </div>
      ) : null}
      {repos.repos.length > 0 ? (
        <div className="jp-Pipes-filters">
          <FilterBox
            value={repos.filter}
            label="Search repos"
            placeholder="Search repos"
            onChange={q => repos.setFilter(q)}
          />
          <label className="jp-Pipes-toggle" title="Pipelines keep versions of their spec and notebook on a spec branch">
            <input
              type="checkbox"
              checked={repos.showInternal}
              onChange={e => repos.setShowInternal(e.target.checked)}
            />
            spec branches
          </label>
        </div>
      ) : null}
      {repos.repos.length === 0 ? (
        <Empty>
          <p>No repos yet.</p>
          <p>
            <button className="jp-Pipes-button" onClick={() => run(commands, CommandIDs.createRepo)}>
              Create a repo
            </button>{' '}
            and drop files on it, or run the demo in a terminal: <code>jupyter pipes demo</code>.
          </p>
        </Empty>
      ) : (
        <ul className="jp-Pipes-list jp-Pipes-repos" aria-label="Repos" onKeyDown={onListKeyDown}>
          {repos.visible.map(repo => (
            <RepoItem key={repo.name} repo={repo} />
          ))}
        </ul>
      )}
      {repos.repos.length > 0 && repos.visible.length === 0 ? (
        <Empty>No repo matches “{repos.filter}”.</Empty>
      ) : null}
    </>
  );
}
