/**
 * A collapsible part of the sidebar: a header button (keyboard: Enter/Space) and its body.
 */
import React, { useState } from 'react';

export interface ISectionProps {
  id: string;
  title: string;
  /** Shown right of the title (counts, branch...). */
  detail?: React.ReactNode;
  /** Buttons in the header (they do not toggle the section). */
  actions?: React.ReactNode;
  initiallyOpen?: boolean;
  grow?: boolean;
  children: React.ReactNode;
}

export function Section(props: ISectionProps): JSX.Element {
  const [open, setOpen] = useState(props.initiallyOpen ?? true);
  const bodyId = `jp-Pipes-section-${props.id}`;
  return (
    <section
      className={`jp-Pipes-section${open && props.grow ? ' jp-mod-grow' : ''}`}
      data-section={props.id}
    >
      <div className="jp-Pipes-sectionHeader">
        <button
          className="jp-Pipes-sectionToggle"
          aria-expanded={open}
          aria-controls={bodyId}
          onClick={() => setOpen(!open)}
        >
          <span className="jp-Pipes-caret" aria-hidden="true">
            {open ? '▾' : '▸'}
          </span>
          {props.title}
          {props.detail ? <span className="jp-Pipes-sectionDetail">{props.detail}</span> : null}
        </button>
        {props.actions ? <span className="jp-Pipes-sectionActions">{props.actions}</span> : null}
      </div>
      {open ? (
        <div id={bodyId} className="jp-Pipes-sectionBody">
          {props.children}
        </div>
      ) : null}
    </section>
  );
}
