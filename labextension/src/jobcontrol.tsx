/**
 * Job control from the sidebar (#12, #15): stop a queued or running job, rerun a done one,
 * restart a running datum — from a row's menu or the job's detail, each after a dialog that
 * says what will happen. A stop also kills the jobs of the same global commit downstream of
 * it (the server answers them); a rerun runs the job's pipeline again on the input commits
 * that job read, and the pipelines downstream after it.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import React from 'react';

import { CommandIDs } from './commandIds';
import { shortId } from './format';
import { showForm } from './forms';
import { argsOf } from './menus';
import { PipesModel } from './model';

/** The job states a stop applies to (the server refuses the others: the job is done). */
export const STOPPABLE = ['created', 'running'];
/** The job states a rerun applies to (done). */
export const RERUNNABLE = ['success', 'failure', 'killed', 'unrunnable'];

const REUSE = 'only the datums that did not succeed (reuse the others)';
const REPROCESS = 'every datum';

/** Ask, then rerun `job` of `pipeline`; resolves with the new job's id (or null). */
export async function rerunJobDialog(
  model: PipesModel,
  job: string,
  pipeline: string
): Promise<string | null> {
  const rerun = await showForm({
    title: `Rerun job ${shortId(job)} of ${pipeline}?`,
    accept: 'Rerun job',
    intro: (
      <p>
        A new job of <strong>{pipeline}</strong> runs, with the pipeline’s current spec, on the{' '}
        <strong>same input commits</strong> this job read (not the inputs’ newest commits). Its
        output becomes the head of <strong>{pipeline}</strong>, even if newer inputs exist, and
        the pipelines downstream run on it.
      </p>
    ),
    fields: [
      {
        name: 'datums',
        label: 'Run',
        options: [REUSE, REPROCESS],
        value: REUSE,
        errorKeys: ['reprocess']
      }
    ],
    submit: async values => (await model.jobs.rerun(job, values.datums === REPROCESS)).id
  });
  if (rerun) {
    Notification.success(`Queued job ${shortId(rerun)} of ${pipeline}, a rerun of ${shortId(job)}`, {
      autoClose: 3000
    });
    await model.jobs.select(rerun);
  }
  return rerun;
}

/** Ask, then restart running datum `datum` of `job`; resolves with true once asked. */
export async function restartDatumDialog(
  model: PipesModel,
  job: string,
  datum: string,
  pipeline: string
): Promise<boolean> {
  const done = await showForm({
    title: `Restart datum ${shortId(datum)}?`,
    accept: 'Restart datum',
    warn: true,
    intro: (
      <p>
        Its run in job {shortId(job)} of <strong>{pipeline}</strong> is killed and starts again
        from the beginning (not counted as a try). The other datums go on.
      </p>
    ),
    fields: [],
    submit: async () => {
      await model.jobs.restartDatum(job, datum);
      return true;
    }
  });
  if (done) {
    Notification.success(`Restarting datum ${shortId(datum)} of job ${shortId(job)}`, {
      autoClose: 3000
    });
  }
  return !!done;
}

/** Ask, then stop `job` of `pipeline`; resolves with the ids of the jobs stopped (or null). */
export async function stopJobDialog(
  model: PipesModel,
  job: string,
  pipeline: string
): Promise<string[] | null> {
  const stopped = await showForm({
    title: `Stop job ${shortId(job)} of ${pipeline}?`,
    accept: 'Stop job',
    warn: true,
    intro: (
      <p>
        The job ends <strong>killed</strong>: its running datums are cancelled and nothing is
        committed to <strong>{pipeline}</strong>. Jobs of the same change downstream of it are
        stopped too.
      </p>
    ),
    fields: [],
    submit: async () => (await model.jobs.stop(job)).map(j => j.id)
  });
  if (stopped) {
    const others = stopped.length - 1;
    Notification.success(
      `Stopped job ${shortId(job)} of ${pipeline}` +
        (others > 0 ? ` and ${others} job${others === 1 ? '' : 's'} downstream` : ''),
      { autoClose: 3000 }
    );
  }
  return stopped;
}

/** A command on a job (from a row's menu or the job's detail), enabled in `states`, that
 * opens `dialog` for the job and its pipeline. */
function addJobCommand(
  app: JupyterFrontEnd,
  id: string,
  states: string[],
  dialog: (job: string, pipeline: string) => Promise<unknown>,
  text: { label: string; caption: string }
): void {
  app.commands.addCommand(id, {
    ...text,
    isEnabled: args => states.includes(argsOf(app, args, 'job').state ?? ''),
    execute: args => {
      const a = argsOf(app, args, 'job');
      return a.job ? dialog(a.job, a.pipeline || 'its pipeline') : undefined;
    }
  });
}

export function addJobControlCommands(app: JupyterFrontEnd, model: PipesModel): void {
  const stop = (job: string, pipeline: string) => stopJobDialog(model, job, pipeline);
  const rerun = (job: string, pipeline: string) => rerunJobDialog(model, job, pipeline);
  addJobCommand(app, CommandIDs.stopJob, STOPPABLE, stop, {
    label: 'Stop Job…',
    caption: 'Kill a queued or running job (and its downstream jobs of the same change); asks first'
  });
  addJobCommand(app, CommandIDs.rerunJob, RERUNNABLE, rerun, {
    label: 'Rerun Job…',
    caption: 'Run a done job again on the same input commits (and the jobs downstream); asks first'
  });
  app.commands.addCommand(CommandIDs.restartDatum, {
    label: 'Restart Datum…',
    caption: 'Kill a running datum’s run and start it again (not counted as a try); asks first',
    isEnabled: args => argsOf(app, args, 'datum').state === 'running',
    execute: args => {
      const a = argsOf(app, args, 'datum');
      return a.job && a.datum
        ? restartDatumDialog(model, a.job, a.datum, a.pipeline || 'its pipeline')
        : undefined;
    }
  });
}
