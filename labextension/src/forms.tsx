/**
 * Dialogs with fields that stay open until their action succeeds: a bad value (checked here,
 * or refused by the server) is shown by its field, the input is kept, and the user corrects it.
 * JupyterLab's `Dialog` closes on any accept; `FormDialog` overrides `resolve` to run the
 * action first.
 */
import { Dialog, ReactWidget } from '@jupyterlab/apputils';
import React from 'react';

import { PipesRequestError } from './request';

export interface IField {
  /** The value's key (and the server error's `field`, when it names one). */
  name: string;
  label: string;
  value?: string;
  placeholder?: string;
  /** Choices: a `<select>` (or, with `free`, suggestions of a text input). */
  options?: string[];
  free?: boolean;
  /** A short help line under the field. */
  help?: string;
  /** Fields of a server error that point at this field (`repo`, `branch`, `path`...). */
  errorKeys?: string[];
  multiline?: boolean;
  /** A local check: a message when the value is bad. */
  check?: (value: string, values: Record<string, string>) => string | null;
}

/** Which field a failed action's error belongs to (`null`: the form as a whole). */
export function errorField(error: unknown, fields: IField[]): string | null {
  if (!(error instanceof PipesRequestError)) {
    return null;
  }
  const body = error.body;
  const named = typeof body.field === 'string' ? body.field : null;
  if (named && fields.some(f => f.name === named)) {
    return named;
  }
  for (const f of fields) {
    const keys = f.errorKeys ?? [f.name];
    if (keys.some(k => k in body)) {
      return f.name;
    }
  }
  return null;
}

class FormBody extends ReactWidget {
  constructor(
    readonly fields: IField[],
    readonly intro?: React.ReactNode
  ) {
    super();
    this.addClass('jp-Pipes-form');
    for (const f of fields) {
      this.values[f.name] = f.value ?? '';
    }
  }

  values: Record<string, string> = {};
  errors: Record<string, string> = {};
  formError: string | null = null;
  busy = false;

  getValue(): Record<string, string> {
    return { ...this.values };
  }

  /** Check every field locally; true when all are good (errors are shown otherwise). */
  check(): boolean {
    this.errors = {};
    for (const f of this.fields) {
      const message = f.check?.(this.values[f.name] ?? '', this.values);
      if (message) {
        this.errors[f.name] = message;
      }
    }
    this.formError = null;
    this.update();
    return Object.keys(this.errors).length === 0;
  }

  render(): JSX.Element {
    return (
      <>
        {this.intro ? <div className="jp-Pipes-formIntro">{this.intro}</div> : null}
        {this.fields.map(f => {
          const id = `jp-Pipes-field-${this.id}-${f.name}`;
          const error = this.errors[f.name];
          const common = {
            id,
            name: f.name,
            className: `jp-mod-styled${error ? ' jp-Pipes-invalid' : ''}`,
            'aria-invalid': !!error,
            'aria-describedby': error ? `${id}-error` : undefined,
            defaultValue: f.value ?? '',
            placeholder: f.placeholder,
            onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>) => {
              this.values[f.name] = e.target.value;
              if (this.errors[f.name]) {
                delete this.errors[f.name];
                this.update();
              }
            }
          };
          let input: JSX.Element;
          if (f.options && !f.free) {
            input = (
              <select {...common}>
                {f.options.map(o => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            );
          } else if (f.multiline) {
            input = <textarea rows={3} {...common} />;
          } else {
            input = (
              <>
                <input {...common} list={f.options ? `${id}-list` : undefined} autoComplete="off" />
                {f.options ? (
                  <datalist id={`${id}-list`}>
                    {f.options.map(o => (
                      <option key={o} value={o} />
                    ))}
                  </datalist>
                ) : null}
              </>
            );
          }
          return (
            <div key={f.name} className="jp-Pipes-field" data-field={f.name}>
              <label htmlFor={id}>{f.label}</label>
              {input}
              {error ? (
                <div id={`${id}-error`} className="jp-Pipes-fieldError" role="alert">
                  {error}
                </div>
              ) : f.help ? (
                <div className="jp-Pipes-small jp-Pipes-muted">{f.help}</div>
              ) : null}
            </div>
          );
        })}
        {this.formError ? (
          <div className="jp-Pipes-fieldError jp-Pipes-formError" role="alert">
            {this.formError}
          </div>
        ) : null}
        {this.busy ? <div className="jp-Pipes-small jp-Pipes-muted">Working…</div> : null}
      </>
    );
  }
}

/** A dialog that runs `submit` on accept and closes only when it succeeds. */
class FormDialog<T> extends Dialog<Record<string, string>> {
  constructor(
    options: Partial<Dialog.IOptions<Record<string, string>>>,
    readonly form: FormBody,
    readonly submit: (values: Record<string, string>) => Promise<T>,
    readonly buttonList: Dialog.IButton[]
  ) {
    super({ ...options, body: form, buttons: buttonList });
  }

  result: T | undefined;

  resolve(index?: number): void {
    const i = index ?? this.buttonList.length - 1;
    const button = this.buttonList[i];
    if (!button?.accept) {
      super.resolve(i);
      return;
    }
    if (this.form.busy || !this.form.check()) {
      return;
    }
    this.form.busy = true;
    this.form.update();
    this.submit(this.form.getValue()).then(
      value => {
        this.result = value;
        this.form.busy = false;
        super.resolve(i);
      },
      (error: unknown) => {
        this.form.busy = false;
        const message = (error as Error)?.message ?? String(error);
        const field = errorField(error, this.form.fields);
        if (field) {
          this.form.errors[field] = message;
        } else {
          this.form.formError = message;
        }
        this.form.update();
      }
    );
  }
}

export interface IFormOptions<T> {
  title: string;
  fields: IField[];
  intro?: React.ReactNode;
  /** The accept button's label. */
  accept: string;
  /** A warning (destructive) accept button. */
  warn?: boolean;
  /** Does the work; a thrown error keeps the dialog open with the message by its field. */
  submit: (values: Record<string, string>) => Promise<T>;
}

/**
 * Show a form; resolves with `submit`'s result once it succeeded, or `null` when cancelled.
 */
export async function showForm<T>(options: IFormOptions<T>): Promise<T | null> {
  const form = new FormBody(options.fields, options.intro);
  const accept = options.warn
    ? Dialog.warnButton({ label: options.accept })
    : Dialog.okButton({ label: options.accept });
  const dialog = new FormDialog<T>(
    { title: options.title, focusNodeSelector: 'input, select, textarea' },
    form,
    options.submit,
    [Dialog.cancelButton(), accept]
  );
  const result = await dialog.launch();
  return result.button.accept ? (dialog.result ?? null) : null;
}

/** A local check: the value must not be empty. */
export function required(label: string): (value: string) => string | null {
  return value => (value.trim() ? null : `${label} is required.`);
}
