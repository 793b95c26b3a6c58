/**
 * The extension's dialogs (JupyterLab's `showDialog`): create a repo; confirm a revert after
 * showing which branch moves and which pipelines re-run.
 */
import { Dialog, ReactWidget, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import React from 'react';

import { relativeTime, shortId } from './format';
import { ICommit, IRevertPlan, PipesModel } from './model';

class CreateRepoBody extends ReactWidget {
  name = '';
  description = '';

  getValue(): { name: string; description: string } {
    return { name: this.name.trim(), description: this.description.trim() };
  }

  render(): JSX.Element {
    return (
      <div className="jp-Pipes-form">
        <label>
          Name
          <input
            className="jp-mod-styled"
            name="name"
            aria-label="Repo name"
            placeholder="e.g. training"
            onChange={e => (this.name = e.target.value)}
          />
        </label>
        <label>
          Description (optional)
          <input
            className="jp-mod-styled"
            name="description"
            aria-label="Repo description"
            onChange={e => (this.description = e.target.value)}
          />
        </label>
        <p className="jp-Pipes-small">
          Letters, digits, <code>_</code> and <code>-</code>. Then drop files on the repo to commit them.
        </p>
      </div>
    );
  }
}

/** Ask for a name and create the repo; its history opens. */
export async function createRepoDialog(model: PipesModel): Promise<void> {
  const result = await showDialog({
    title: 'Create a repo',
    body: new CreateRepoBody(),
    focusNodeSelector: 'input',
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Create' })]
  });
  if (!result.button.accept || !result.value?.name) {
    return;
  }
  try {
    const repo = await model.repos.create(result.value.name, result.value.description);
    await model.selectBranch(repo.name);
  } catch (error) {
    await showErrorMessage('Could not create the repo', (error as Error).message);
  }
}

export function RevertPlanView({ plan }: { plan: IRevertPlan }): JSX.Element {
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
            {plan.pipelines.map(p => (
              <li key={p} data-pipeline={p}>
                {p}
              </li>
            ))}
          </ul>
        </>
      ) : (
        <p className="jp-Pipes-revertPipelines">
          No pipeline reads {plan.repo}@{plan.branch}: nothing re-runs.
        </p>
      )}
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
    body: <RevertPlanView plan={plan} />,
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
