/** The extension's command ids (shared by the plugin and the components). */
export const CommandIDs = {
  open: 'jupyter-pipes:open',
  openDag: 'jupyter-pipes:open-dag',
  refresh: 'jupyter-pipes:refresh',
  createRepo: 'jupyter-pipes:create-repo',
  openFile: 'jupyter-pipes:open-file',
  openNotebook: 'jupyter-pipes:open-datum-notebook',
  revert: 'jupyter-pipes:revert'
} as const;
