/**
 * The extension's command ids (shared by the plugin, the menus and the components).
 *
 * Some ids name commands that other work registers later; a menu shows an item only while its
 * command exists (`commands.hasCommand`), so those appear by themselves once registered:
 * `compareCommits` (lineage, #14), `stopJob`, `rerunJob` and `restartDatum` (job control, #12).
 */
export const CommandIDs = {
  open: 'jupyter-pipes:open',
  openDag: 'jupyter-pipes:open-dag',
  refresh: 'jupyter-pipes:refresh',
  createRepo: 'jupyter-pipes:create-repo',
  openFile: 'jupyter-pipes:open-file',
  openNotebook: 'jupyter-pipes:open-datum-notebook',
  revert: 'jupyter-pipes:revert',
  // repos
  newBranch: 'jupyter-pipes:new-branch',
  copyRef: 'jupyter-pipes:copy-ref',
  deleteRepo: 'jupyter-pipes:delete-repo',
  toggleInternal: 'jupyter-pipes:toggle-internal-branches',
  // commits
  copyCommitId: 'jupyter-pipes:copy-commit-id',
  openCommitFiles: 'jupyter-pipes:open-commit-files',
  copyToWorkspace: 'jupyter-pipes:copy-to-workspace',
  compareCommits: 'jupyter-pipes:compare-commits',
  // jobs and datums
  jobLogs: 'jupyter-pipes:job-logs',
  datumLog: 'jupyter-pipes:datum-log',
  stopJob: 'jupyter-pipes:stop-job',
  rerunJob: 'jupyter-pipes:rerun-job',
  restartDatum: 'jupyter-pipes:restart-datum',
  // the workspace
  commitToRepo: 'jupyter-pipes:commit-to-repo',
  copyFromDrive: 'jupyter-pipes:copy-from-drive',
  // lineage (#14: lineage/commands.ts)
  showLineage: 'jupyter-pipes:show-lineage',
  compareFile: 'jupyter-pipes:compare-file',
  showTimeline: 'jupyter-pipes:show-timeline',
  showMetrics: 'jupyter-pipes:show-metrics',
  explainVersions: 'jupyter-pipes:explain-versions'
} as const;
