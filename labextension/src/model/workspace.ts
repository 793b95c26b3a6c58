/**
 * The two bridges between the store and the workspace (the server's root folder, which
 * JupyterLab's file browser shows): commit workspace files and folders to a branch, and copy a
 * stored file or folder into the workspace.
 */
import { requestAPI } from '../request';
import { apiPath } from '../url';
import { ICommit } from './types';

export interface IWorkspaceCopy {
  /** Its workspace path. */
  to: string;
  type: 'file' | 'dir';
  size_bytes: number;
}

/**
 * Commit workspace files and folders (workspace paths) into `dest` of `repo@branch`, each under
 * its own name, as one commit.
 */
export function commitFromWorkspace(
  repo: string,
  branch: string,
  paths: string[],
  dest: string,
  message: string
): Promise<ICommit> {
  return requestAPI<ICommit>(apiPath('repos', repo, 'branches', branch, 'from-workspace'), {
    method: 'POST',
    body: JSON.stringify({ paths, dest: normalDest(dest), message })
  });
}

/** Copy `repo@ref:path` (a file or a folder) to the workspace path `to`. */
export function copyToWorkspace(
  repo: string,
  ref: string,
  path: string,
  to: string,
  overwrite = false
): Promise<IWorkspaceCopy> {
  return requestAPI<IWorkspaceCopy>(apiPath('repos', repo, 'commits', ref, 'to-workspace'), {
    method: 'POST',
    body: JSON.stringify({ path, to: to.trim().replace(/^\/+/, ''), overwrite })
  });
}

/** A folder of a repo as the API wants it: absolute, no trailing slash (`/` for the root). */
export function normalDest(dest: string): string {
  const parts = dest.split('/').filter(Boolean);
  return '/' + parts.join('/');
}

/** Where a copy goes by default: the stored path's last name (`repo` for a whole commit). */
export function defaultCopyName(repo: string, path: string): string {
  const parts = path.split('/').filter(Boolean);
  return parts.length ? parts[parts.length - 1] : repo;
}

/** The message a commit of workspace files gets when the user gives none. */
export function defaultWorkspaceMessage(paths: string[]): string {
  const names = paths.map(p => p.split('/').filter(Boolean).pop() ?? p);
  if (names.length <= 3) {
    return `add ${names.join(', ')}`;
  }
  return `add ${names.slice(0, 2).join(', ')} and ${names.length - 2} more`;
}
