/**
 * jupyter_pipes' JupyterLab extension: the Pipes sidebar (repos, commit history, the DAG, jobs,
 * one-click revert), a main-area DAG, log tabs, palette commands, the bridges with the
 * workspace (commit files to a repo, copy stored files out), and the read-only `pipes:` drive
 * that opens stored files and executed notebooks in JupyterLab's own viewers and whose tabs
 * follow their branch.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IDefaultFileBrowser, IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { INotebookWidgetFactory, NotebookWidgetFactory } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';

import { addCommands } from './commands';
import { CommandIDs } from './commandIds';
import { PipesDrive } from './drive';
import { addDriveMenu } from './drivemenu';
import { followBranches } from './follow';
import { addContextMenus } from './menus';
import { DRIVE_NAME, isInternalBranch, PipesModel } from './model';
import { addJobControlCommands } from './jobcontrol';
import { addLineageCommands } from './lineage/commands';
import { addExecutedNotebookFactory } from './notebooks';
import { DagPanel, PipesPanel } from './widgets';

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">' +
  '<path class="jp-icon3" fill="#616161" d="M4 4h6v4H4zM14 4h6v4h-6zM9 16h6v4H9z' +
  'M6 8h2v3h8V8h2v5h-5v3h-2v-3H6z"/></svg>';

export const pipesIcon = new LabIcon({ name: 'jupyter-pipes:icon', svgstr: ICON_SVG });

const FILES_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">' +
  '<path class="jp-icon3" fill="#616161" d="M10 4H4c-1.1 0-2 .9-2 2v12c0 1.1.9 2 2 2h16c1.1 0 ' +
  '2-.9 2-2V8c0-1.1-.9-2-2-2h-8l-2-2zm3 5h2v3h3v2h-3v3h-2v-3h-3v-2h3z"/></svg>';

/** The icon of the read-only `pipes:` file browser. */
export const pipesFilesIcon = new LabIcon({ name: 'jupyter-pipes:files', svgstr: FILES_SVG });

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-pipes:plugin',
  description: 'Sidebar for jupyter_pipes: repos, history, the DAG, jobs and model revert.',
  autoStart: true,
  optional: [
    ICommandPalette,
    ILayoutRestorer,
    IDocumentManager,
    IFileBrowserFactory,
    IDefaultFileBrowser,
    INotebookWidgetFactory
  ],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    docManager: IDocumentManager | null,
    browserFactory: IFileBrowserFactory | null,
    workspace: IDefaultFileBrowser | null,
    notebookFactory: NotebookWidgetFactory.IFactory | null
  ) => {
    const model = new PipesModel({ events: app.serviceManager.events });
    const drive = new PipesDrive({
      hidden: (repo, branch) =>
        !model.repos.showInternal && isInternalBranch(model.dag.dag, repo, branch)
    });
    (docManager?.services.contents ?? app.serviceManager.contents).addDrive(drive);

    const panel = new PipesPanel(model, app.commands);
    panel.title.icon = pipesIcon;
    app.shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, 'jupyter-pipes-panel');

    const dagTracker = new WidgetTracker<MainAreaWidget<DagPanel>>({ namespace: 'jupyter-pipes-dag' });
    restorer?.restore(dagTracker, { command: CommandIDs.openDag, name: () => 'dag' });

    const executedFactory = !!notebookFactory && addExecutedNotebookFactory(app, notebookFactory);

    let files = null;
    if (browserFactory) {
      // the store as a read-only file browser (pipes:repo@branch/...)
      files = browserFactory.createFileBrowser('jupyter-pipes-files', {
        driveName: DRIVE_NAME,
        refreshInterval: 300000
      });
      files.title.icon = pipesFilesIcon;
      files.title.caption = 'Pipes files: every repo@branch, read-only';
      files.id = 'jupyter-pipes-files';
      files.addClass('jp-PipesFiles');
      app.shell.add(files, 'left', { rank: 601 });
      restorer?.add(files, 'jupyter-pipes-files');
      addDriveMenu(app, files);
    }

    addCommands({
      app,
      model,
      panel,
      icon: pipesIcon,
      docManager,
      palette,
      dagTracker,
      files,
      workspace,
      executedFactory
    });
    addLineageCommands({ app, model, icon: pipesIcon, files });
    addJobControlCommands(app, model);
    addContextMenus(app);
    if (docManager) {
      followBranches(app, model, docManager);
    }
    model.repos.changed.connect(() => {
      // the drive's root lists internal branches only on request
      if (files && files.model.path === `${DRIVE_NAME}:`) {
        void files.model.refresh();
      }
    });

    void app.restored.then(() => model.refresh());
  }
};

export default plugin;
