/**
 * jupyter_pipes' JupyterLab extension: a sidebar with the store's repos (and, next, history,
 * the DAG, jobs and one-click revert), plus a palette command to open it.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';

import { PipesModel } from './model';
import { PipesPanel } from './panel';

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">' +
  '<path class="jp-icon3" fill="#616161" d="M4 4h6v4H4zM14 4h6v4h-6zM9 16h6v4H9z' +
  'M6 8h2v3h8V8h2v5h-5v3h-2v-3H6z"/></svg>';

export const pipesIcon = new LabIcon({ name: 'jupyter-pipes:icon', svgstr: ICON_SVG });

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-pipes:plugin',
  description: 'Sidebar for jupyter_pipes: repos, history, the DAG, jobs and model revert.',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const model = new PipesModel();
    const panel = new PipesPanel(model);
    panel.title.icon = pipesIcon;
    app.shell.add(panel, 'left', { rank: 600 });
    if (restorer) {
      restorer.add(panel, 'jupyter-pipes-panel');
    }
    const command = 'jupyter-pipes:open';
    app.commands.addCommand(command, {
      label: 'Pipes: Open the Versioned Data Sidebar',
      execute: () => {
        app.shell.activateById(panel.id);
        void model.refresh();
      }
    });
    palette?.addItem({ command, category: 'Pipes' });
    void model.refresh();
  }
};

export default plugin;
