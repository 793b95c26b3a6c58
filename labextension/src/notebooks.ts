/**
 * How executed notebooks open: with a widget factory of their own, read-only, with no kernel
 * (none is started or can be), and a toolbar that says what they are.
 *
 * Why not JupyterLab's “Notebook” factory with no kernel: extensions of that factory expect a
 * kernel session (ipywidgets' manager reads `session.kernel` of every tracked notebook and throws
 * an uncaught `TypeError` when there is none). A factory of our own is not tracked by the
 * notebook tracker, so nothing that needs a kernel attaches to it.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { NotebookPanel, NotebookWidgetFactory } from '@jupyterlab/notebook';
import { notebookIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

/** The widget factory of executed notebooks (pass it to `openOrReveal`). */
export const EXECUTED_NOTEBOOK_FACTORY = 'Pipes Executed Notebook';
const FILE_TYPE = 'jupyter-pipes-executed-notebook';

/**
 * Register the factory, built from JupyterLab's notebook factory (its renderers and config);
 * false when that factory is not the standard one (executed notebooks then open with it).
 */
export function addExecutedNotebookFactory(
  app: JupyterFrontEnd,
  standard: NotebookWidgetFactory.IFactory
): boolean {
  if (!(standard instanceof NotebookWidgetFactory)) {
    return false;
  }
  const base = standard;
  // a file type that no path has (no extension): the factory is never a default nor offered
  // in “Open With” for the workspace's notebooks
  app.docRegistry.addFileType({
    name: FILE_TYPE,
    displayName: 'Executed notebook',
    extensions: [],
    mimeTypes: ['application/x-ipynb+json'],
    contentType: 'notebook',
    fileFormat: 'json',
    icon: notebookIcon
  });
  const factory = new NotebookWidgetFactory({
    name: EXECUTED_NOTEBOOK_FACTORY,
    label: 'Executed notebook (read-only)',
    fileTypes: [FILE_TYPE],
    modelName: 'notebook',
    preferKernel: false,
    canStartKernel: false,
    shutdownOnClose: false,
    autoStartDefault: false,
    rendermime: base.rendermime,
    contentFactory: base.contentFactory,
    mimeTypeService: base.mimeTypeService,
    editorConfig: base.editorConfig,
    notebookConfig: base.notebookConfig,
    toolbarFactory: (panel: NotebookPanel) => {
      const label = new Widget();
      label.addClass('jp-Pipes-executedLabel');
      label.node.textContent = 'Read-only: the notebook as the pipeline ran it (no kernel)';
      label.node.title = panel.context.path;
      return [{ name: 'pipes-executed', widget: label }];
    }
  });
  app.docRegistry.addWidgetFactory(factory);
  return true;
}
