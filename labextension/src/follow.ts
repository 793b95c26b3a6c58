/**
 * `pipes:` tabs opened on a branch follow it. When `repo@branch` moves (a commit, a revert, a
 * pipeline's new output), every open document at `pipes:repo@branch/...` reloads; one the user
 * changed (what it shows differs from what was loaded: the drive is read-only, so JupyterLab
 * never marks it dirty) keeps it and gets a bar instead: “a newer version is on repo@branch —
 * Reload”. Tabs opened at a commit id never change.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { DocumentRegistry, IDocumentWidget } from '@jupyterlab/docregistry';
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

/** The text of each open `pipes:` document as last loaded, to tell whether the user changed it. */
const loaded = new WeakMap<DocumentRegistry.Context, string>();

function remember(context: DocumentRegistry.Context): void {
  loaded.set(context, context.model.toString());
}

/** True when the user changed what the tab shows since it was loaded. */
export function edited(context: DocumentRegistry.Context): boolean {
  const text = loaded.get(context);
  return context.model.dirty || (text !== undefined && text !== context.model.toString());
}

/** Make every open `pipes:repo@branch/...` document follow its branch. */
export function followBranches(
  app: JupyterFrontEnd,
  model: PipesModel,
  docManager: IDocumentManager
): void {
  const track = (_: unknown, widget: IDocumentWidget) => {
    const context = widget.context;
    if (!followedRef(context.path) || loaded.has(context)) {
      return;
    }
    void context.ready.then(() => remember(context));
    context.fileChanged.connect(() => remember(context));
  };
  // every document widget is made by a widget factory: watch them all, and those added later
  const watch = (factory: DocumentRegistry.WidgetFactory | undefined) =>
    factory?.widgetCreated.connect(track);
  for (const factory of app.docRegistry.widgetFactories()) {
    watch(factory);
  }
  app.docRegistry.changed.connect((_, change) => {
    if (change.type === 'widgetFactory' && change.change === 'added') {
      watch(app.docRegistry.getWidgetFactory(change.name ?? ''));
    }
  });
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
  if (!context.isReady) {
    return; // still loading: it gets the newest version anyway
  }
  if (!edited(context)) {
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
  // the header's size changed: lay the tab out again, so the bar does not cover the content
  widget.contentHeader.fit();
  widget.fit();
}
