/**
 * `pipes:` tabs opened on a branch follow it. When `repo@branch` moves (a commit, a revert, a
 * pipeline's new output), every open document at `pipes:repo@branch/...` reloads; one the user
 * changed (its model is dirty) keeps what it shows and gets a bar instead: “a newer version is
 * on repo@branch — Reload”. Tabs opened at a commit id never change.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { Widget } from '@lumino/widgets';

import { DRIVE_NAME, parseDrivePath, PipesModel } from './model';

const BAR_CLASS = 'jp-Pipes-newerBar';

/** `repo@ref` and the path of a `pipes:` document path, or null for any other path. */
export function followedRef(path: string): { repo: string; ref: string; path: string } | null {
  const prefix = `${DRIVE_NAME}:`;
  if (!path.startsWith(prefix)) {
    return null;
  }
  const where = parseDrivePath(path.slice(prefix.length));
  return where.kind === 'file' ? where : null;
}

class NewerBar extends Widget {
  constructor(label: string, onReload: () => void) {
    super();
    this.addClass(BAR_CLASS);
    this.node.setAttribute('role', 'status');
    const text = document.createElement('span');
    text.textContent = label;
    const reload = document.createElement('button');
    reload.className = 'jp-Pipes-button';
    reload.textContent = 'Reload';
    reload.onclick = () => onReload();
    const dismiss = document.createElement('button');
    dismiss.className = 'jp-Pipes-button';
    dismiss.textContent = 'Keep this version';
    dismiss.onclick = () => this.dispose();
    this.node.append(text, reload, dismiss);
  }
}

/** Make every open `pipes:repo@branch/...` document follow its branch. */
export function followBranches(
  app: JupyterFrontEnd,
  model: PipesModel,
  docManager: IDocumentManager
): void {
  model.branchMoved.connect((_, moved) => {
    for (const widget of app.shell.widgets('main')) {
      const context = docManager.contextForWidget(widget);
      const where = context ? followedRef(context.path) : null;
      if (!context || !where || where.repo !== moved.repo || where.ref !== moved.branch) {
        continue;
      }
      follow(widget, context, `${moved.repo}@${moved.branch}`, moved.commit);
    }
  });
}

function follow(
  widget: Widget,
  context: DocumentRegistry.Context,
  branch: string,
  commit: string | null
): void {
  if (!context.model.dirty) {
    void context.revert().catch(error => console.warn(`jupyter-pipes: reload of ${context.path}`, error));
    return;
  }
  if (!(widget instanceof MainAreaWidget)) {
    return;
  }
  widget.contentHeader.widgets.filter(w => w.hasClass(BAR_CLASS)).forEach(w => w.dispose());
  const bar = new NewerBar(
    `A newer version is on ${branch}${commit ? ` (commit ${commit.slice(0, 8)})` : ''}; this tab keeps your changes.`,
    () => {
      bar.dispose();
      void context.revert();
    }
  );
  widget.contentHeader.addWidget(bar);
}
