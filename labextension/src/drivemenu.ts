/**
 * The context menu of the read-only **Pipes files** browser. JupyterLab's file browser offers
 * the same menu in every browser, Rename, Move to Trash and New Notebook included, and those
 * commands have no way to know a drive is read-only. So this browser opens a menu of its own:
 * what applies (Open, Download, Copy Path, Copy to workspace…) and, disabled with a tooltip
 * that says why, what does not.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { FileBrowser } from '@jupyterlab/filebrowser';
import { ContextMenu } from '@lumino/widgets';

import { CommandIDs } from './commandIds';

/** Commands of JupyterLab's file browser that apply to a read-only drive. */
const APPLIES = ['filebrowser:open', 'filebrowser:download', 'filebrowser:copy-path'];

/** What cannot apply: shown disabled, as stand-ins of JupyterLab's own commands. */
const READ_ONLY: Array<[string, string]> = [
  ['rename', 'Rename'],
  ['delete', 'Move to Trash'],
  ['cut', 'Cut'],
  ['paste', 'Paste'],
  ['duplicate', 'Duplicate'],
  ['new-folder', 'New Folder'],
  ['new-notebook', 'New Notebook'],
  ['new-file', 'New File']
];

export const READ_ONLY_COMMAND = (what: string) => `jupyter-pipes:read-only-${what}`;

const WHY =
  'The store is read-only here: it changes by commits (Commit to repo… in the file browser, ' +
  'or drop files on a repo in the Pipes sidebar).';

/** Give `browser` (the Pipes files browser) its own context menu. */
export function addDriveMenu(app: JupyterFrontEnd, browser: FileBrowser): void {
  const { commands } = app;
  for (const [what, label] of READ_ONLY) {
    commands.addCommand(READ_ONLY_COMMAND(what), {
      label,
      caption: WHY,
      isEnabled: () => false,
      execute: () => undefined
    });
  }
  const menu = new ContextMenu({ commands });
  menu.menu.addClass('jp-Pipes-driveMenu');
  const item = '.jp-PipesFiles .jp-DirListing-item';
  const anywhere = '.jp-PipesFiles';
  let rank = 0;
  for (const command of APPLIES) {
    menu.addItem({ command, selector: item, rank: rank++ });
  }
  menu.addItem({ command: CommandIDs.copyFromDrive, selector: item, rank: rank++ });
  menu.addItem({ command: CommandIDs.showLineage, selector: item, rank: rank++ });
  menu.addItem({ command: CommandIDs.compareFile, selector: item, rank: rank++ });
  menu.addItem({ type: 'separator', selector: anywhere, rank: rank++ });
  for (const [what] of READ_ONLY) {
    menu.addItem({ command: READ_ONLY_COMMAND(what), selector: anywhere, rank: rank++ });
  }
  browser.node.addEventListener('contextmenu', (event: MouseEvent) => {
    if (event.shiftKey) {
      return; // the browser's own menu, as everywhere in JupyterLab
    }
    // the listing selected the clicked item already (its own handler ran first)
    if (menu.open(event)) {
      event.preventDefault();
      event.stopPropagation();
    }
  });
}
