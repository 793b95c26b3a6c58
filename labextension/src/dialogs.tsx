/**
 * The extension's dialogs: create a repo or a branch, delete a repo, upload with a message,
 * commit workspace files, copy stored files to the workspace (forms that stay open on a bad
 * value, see `forms.tsx`), and confirm a revert after showing which branch moves and which
 * pipelines re-run.
 */
import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import React from 'react';

import { relativeTime, shortId } from './format';
import { RevertMetrics } from './lineage/MetricsView';
import { required, showForm } from './forms';
import { ICommit, isInternalBranch, IRevertPlan, IUploadFile, PipesModel } from './model';
import {
  commitFromWorkspace,
  copyToWorkspace,
  defaultCopyName,
  defaultWorkspaceMessage,
  IWorkspaceCopy
} from './model/workspace';

/** Ask for a name and create the repo; its history opens. A bad name keeps the form open. */
export async function createRepoDialog(model: PipesModel): Promise<void> {
  const repo = await showForm({
    title: 'Create a repo',
    accept: 'Create',
    fields: [
      {
        name: 'name',
        label: 'Name',
        placeholder: 'e.g. training',
        errorKeys: ['repo', 'name'],
        help: 'Letters, digits, _ and -. Then drop files on the repo to commit them.',
        check: required('A name')
      },
      { name: 'description', label: 'Description (optional)' }
    ],
    submit: v => model.repos.create(v.name.trim(), v.description.trim())
  });
  if (repo) {
    await model.selectBranch(repo.name);
  }
}

/** Create a branch of `repo` at the head of another branch (or a commit). */
export async function newBranchDialog(
  model: PipesModel,
  repo: string,
  from?: string
): Promise<void> {
  const info = model.repos.repo(repo);
  const branches = info?.branches ?? [];
  const created = await showForm({
    title: `New branch of ${repo}`,
    accept: 'Create branch',
    fields: [
      {
        name: 'branch',
        label: 'Name',
        placeholder: 'e.g. staging',
        errorKeys: ['branch', 'name'],
        help: 'Letters, digits, _ and -.',
        // the server refuses it too, but names it as part of a ref (repo@name)
        check: v =>
          /^[A-Za-z0-9_-]+$/.test(v.trim())
            ? null
            : v.trim()
              ? `Invalid branch name “${v.trim()}”: use only letters, digits, _ and -.`
              : 'Give the branch a name.'
      },
      {
        name: 'head',
        label: 'Starts at (a branch or a commit id; empty: no commits)',
        value: from ?? (branches.includes('master') ? 'master' : (branches[0] ?? '')),
        options: branches,
        free: true,
        errorKeys: ['head', 'ref', 'commit']
      }
    ],
    submit: v => model.repos.createBranch(repo, v.branch.trim(), v.head.trim() || null)
  });
  if (created) {
    await model.selectBranch(repo, created.name);
  }
}

/** Confirm, then delete a repo (a repo that pipelines read needs “force”). */
export async function deleteRepoDialog(model: PipesModel, repo: string): Promise<void> {
  const readers = model.dag.downstream(repo, 'master');
  const done = await showForm({
    title: `Delete repo ${repo}?`,
    accept: `Delete ${repo}`,
    warn: true,
    intro: (
      <p>
        Every branch and commit of <strong>{repo}</strong> goes. Pipelines keep the results they
        computed from it.
        {readers.length
          ? ` Pipelines read it (${readers.join(', ')}): type “force” below to delete it anyway.`
          : ''}
      </p>
    ),
    fields: readers.length
      ? [
          {
            name: 'force',
            label: 'Type “force” to delete a repo that pipelines read',
            errorKeys: ['pipelines'],
            check: v => (v.trim() === 'force' ? null : 'Type “force” to confirm.')
          }
        ]
      : [],
    submit: async v => {
      await model.repos.remove(repo, v.force?.trim() === 'force');
      return true;
    }
  });
  if (done && model.history.repo === repo) {
    await model.history.show(null);
  }
}

/** Ask for a commit message before an upload of files (one commit per file). */
export async function uploadDialog(
  model: PipesModel,
  repo: string,
  branch: string,
  files: IUploadFile[]
): Promise<void> {
  const names = files.map(f => f.name);
  const sent = await showForm({
    title: `Upload to ${repo}@${branch}`,
    accept: files.length === 1 ? 'Commit' : `Commit ${files.length} files`,
    intro: (
      <p>
        {files.length === 1 ? 'This file becomes' : 'Each file becomes'} a commit of its own at the
        root of <code>{repo}@{branch}</code>: {names.join(', ')}.
      </p>
    ),
    fields: [
      {
        name: 'message',
        label: 'Commit message',
        value: files.length === 1 ? `upload ${names[0]}` : 'upload',
        help: files.length > 1 ? 'Each commit gets this message and the file’s name.' : undefined
      }
    ],
    submit: async v => {
      const commits = await model.repos.uploadFiles(repo, branch, files, v.message);
      const error = model.repos.upload?.error;
      if (error && commits.length < files.length) {
        throw new Error(error);
      }
      return commits;
    }
  });
  if (sent && model.history.repo !== repo) {
    await model.selectBranch(repo, branch);
  }
}

/**
 * “Commit to repo…”: commit workspace files and folders (workspace paths) to a branch, into a
 * folder of the repo, as one commit with a message. Opens the branch's history after.
 */
export async function commitToRepoDialog(
  model: PipesModel,
  paths: string[],
  target: { repo?: string; branch?: string } = {}
): Promise<ICommit | null> {
  if (!model.repos.loaded) {
    await model.repos.refresh();
  }
  const repos = model.repos.repos.filter(r => !isOutputRepo(model, r.name));
  const repo = target.repo ?? model.history.repo ?? repos[0]?.name ?? '';
  const branches = model.repos.repo(repo)?.branches.filter(b => !isInternalBranch(model.dag.dag, repo, b)) ?? [];
  const commit = await showForm({
    title: paths.length === 1 ? `Commit ${paths[0]} to a repo` : `Commit ${paths.length} items to a repo`,
    accept: 'Commit',
    intro: (
      <ul className="jp-Pipes-formPaths" aria-label="Workspace files to commit">
        {paths.map(p => (
          <li key={p}>
            <code>{p}</code>
          </li>
        ))}
      </ul>
    ),
    fields: [
      {
        name: 'repo',
        label: 'Repo',
        value: repo,
        options: repos.map(r => r.name),
        free: true,
        errorKeys: ['repo'],
        check: required('A repo')
      },
      {
        name: 'branch',
        label: 'Branch',
        value: target.branch ?? (branches.includes('master') ? 'master' : (branches[0] ?? 'master')),
        options: branches,
        free: true,
        errorKeys: ['branch'],
        check: required('A branch')
      },
      {
        name: 'dest',
        label: 'Into the folder of the repo',
        value: '/',
        errorKeys: ['dest', 'path'],
        help: 'Each file or folder keeps its name there; a folder is committed with all it holds.'
      },
      {
        name: 'message',
        label: 'Commit message',
        value: defaultWorkspaceMessage(paths),
        errorKeys: ['message']
      }
    ],
    submit: async v => {
      const c = await commitFromWorkspace(v.repo.trim(), v.branch.trim(), paths, v.dest, v.message);
      void model.repos.refresh();
      return c;
    }
  });
  if (commit) {
    await model.selectBranch(commit.repo, commit.branch ?? undefined);
    await model.history.refresh();
  }
  return commit;
}

function isOutputRepo(model: PipesModel, repo: string): boolean {
  const node = model.dag.node(`repo:${repo}`);
  return !!node && node.kind === 'repo' && !!node.output_of;
}

/** “Copy to workspace”: copy a stored file or folder at a commit into the workspace. */
export async function copyToWorkspaceDialog(
  repo: string,
  ref: string,
  path: string
): Promise<IWorkspaceCopy | null> {
  return showForm({
    title: `Copy ${repo}@${shortRef(ref)}:${path} to the workspace`,
    accept: 'Copy',
    fields: [
      {
        name: 'to',
        label: 'Workspace path',
        value: defaultCopyName(repo, path),
        errorKeys: ['to'],
        help: 'Relative to the folder JupyterLab’s file browser starts in.',
        check: required('A path')
      },
      {
        name: 'overwrite',
        label: 'If it exists',
        value: 'keep',
        options: ['keep', 'replace']
      }
    ],
    submit: v => copyToWorkspace(repo, ref, path, v.to, v.overwrite === 'replace')
  });
}

function shortRef(ref: string): string {
  return /^[0-9a-f]{32}$/.test(ref) ? shortId(ref) : ref;
}

export function RevertPlanView({ plan, metrics = false }: { plan: IRevertPlan; metrics?: boolean }): JSX.Element {
  const to = plan.to;
  return (
    <div className="jp-Pipes-revertPlan">
      <p>
        Branch <strong className="jp-Pipes-revertBranch">{plan.repo}@{plan.branch}</strong> will move to a new
        commit (origin <code>revert</code>) whose files are those of commit{' '}
        <code>{shortId(to.id)}</code>
        {to.message ? ` “${to.message}”` : ''} ({relativeTime(to.finished ?? to.started)}). History
        keeps every commit.
      </p>
      {plan.pipelines.length ? (
        <>
          <p>These pipelines will re-run, in this order:</p>
          <ul className="jp-Pipes-revertPipelines" aria-label="Pipelines that will re-run">
            {plan.pipelines.map(p => {
              const before = plan.jobs.find(j => j.pipeline === p);
              return (
                <li key={p} data-pipeline={p}>
                  {p}
                  {before ? (
                    <span className="jp-Pipes-muted jp-Pipes-small" data-job={before.id}>
                      {' '}
                      (from this commit before: job {shortId(before.id)}, {before.state})
                    </span>
                  ) : null}
                </li>
              );
            })}
          </ul>
        </>
      ) : (
        <p className="jp-Pipes-revertPipelines">
          No pipeline reads {plan.repo}@{plan.branch}: nothing re-runs.
        </p>
      )}
      <RevertMetrics repo={plan.repo} branch={plan.branch} to={to.id} isOutput={metrics} />
    </div>
  );
}

/** Show what a revert does; on confirmation, do it. Returns the new commit (or null). */
export async function revertDialog(
  model: PipesModel,
  to: ICommit,
  branch?: string
): Promise<ICommit | null> {
  const plan = await model.planRevert(to, branch);
  const result = await showDialog({
    title: `Revert ${plan.repo}@${plan.branch}?`,
    body: <RevertPlanView plan={plan} metrics={isOutputRepo(model, plan.repo)} />,
    buttons: [
      Dialog.cancelButton(),
      Dialog.warnButton({ label: `Revert ${plan.repo}@${plan.branch}`, ariaLabel: 'Revert' })
    ]
  });
  if (!result.button.accept) {
    return null;
  }
  try {
    return await model.revert(plan);
  } catch (error) {
    await showErrorMessage('Could not revert', (error as Error).message);
    return null;
  }
}
