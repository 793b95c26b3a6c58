/**
 * Every repo with its branches, size and last commit. Files dropped on a repo (or one of its
 * branches) are uploaded into that branch, one commit per file.
 */
import { closeIcon } from '@jupyterlab/ui-components';
import React from 'react';

import { CommandIDs } from '../commandIds';
import { Empty, ErrorMessage, IconButton } from './bits';
import { onListKeyDown, run, usePipes, useSignals } from './context';
import { RepoItem } from './RepoItem';

export function RepoList(): JSX.Element {
  const { model, commands } = usePipes();
  const repos = model.repos;
  useSignals(repos.changed, model.history.changed);
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
          {repos.repos.map(repo => (
            <RepoItem key={repo.name} repo={repo} />
          ))}
        </ul>
      )}
    </>
  );
}
