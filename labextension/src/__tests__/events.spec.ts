import { Stream } from '@lumino/signaling';

import { Emission, EventStream, IMarker, SCHEMA_PREFIX, toPipesEvent } from '../model/events';
import { IPipesEvent } from '../model/types';
import { settle } from './helpers';

jest.mock('../request', () => ({ requestAPI: jest.fn() }));

/** JupyterLab's event manager as the stream sees it: a lumino `Stream` of emissions. */
function manager(): { stream: Stream<object, Emission> } {
  return { stream: new Stream<object, Emission>({}) };
}

function emission(type: string, seq: number, instance = 'i1', payload: object = {}): Emission {
  return { schema_id: `${SCHEMA_PREFIX}${type}/v1`, seq, instance, ...payload };
}

describe('EventStream on JupyterLab event stream', () => {
  let stream: EventStream;
  afterEach(() => stream?.dispose());

  it('keeps jupyter_pipes events, as { type, ...payload }, and ignores the others', async () => {
    const source = manager();
    stream = new EventStream({ source, marker: async () => ({ instance: 'i1', seq: 0 }), checkInterval: 0 });
    const events: IPipesEvent[] = [];
    stream.received.connect((_, e) => events.push(e));
    await stream.start();
    expect(stream.state).toBe('open');
    source.stream.emit({ schema_id: 'https://events.jupyter.org/jupyter_server/contents_service/v1', action: 'save', path: 'a' });
    source.stream.emit(emission('repo', 1, 'i1', { action: 'created', repo: 'a' }));
    source.stream.emit(emission('commit', 2, 'i1', { repo: 'a', branch: 'master', commit: 'c1', previous: null }));
    expect(events).toEqual([
      { type: 'repo', action: 'created', repo: 'a' },
      { type: 'commit', repo: 'a', branch: 'master', commit: 'c1', previous: null }
    ]);
    expect(stream.last).toEqual({ instance: 'i1', seq: 2 });
    expect(toPipesEvent({ schema_id: 'https://example.org/other/v1' })).toBeNull();
  });

  it('says events were missed on a gap in seq or a new server instance, not otherwise', async () => {
    const source = manager();
    stream = new EventStream({ source, marker: async () => ({ instance: 'i1', seq: 4 }), checkInterval: 0 });
    let missed = 0;
    stream.missed.connect(() => (missed += 1));
    await stream.start();
    source.stream.emit(emission('repo', 5));
    source.stream.emit(emission('repo', 6));
    source.stream.emit(emission('repo', 6)); // the same again is no gap
    expect(missed).toBe(0);
    source.stream.emit(emission('repo', 8)); // 7 was lost while the socket was down
    expect(missed).toBe(1);
    source.stream.emit(emission('repo', 1, 'i2')); // the server restarted
    expect(missed).toBe(2);
    source.stream.emit(emission('repo', 2, 'i2'));
    expect(missed).toBe(2);
    expect(stream.last).toEqual({ instance: 'i2', seq: 2 });
  });

  it('checks the marker: ahead after the grace means missed, a late event in the grace does not', async () => {
    const source = manager();
    let marker: IMarker = { instance: 'i1', seq: 3 };
    const sleeps: number[] = [];
    let during: (() => void) | null = null;
    stream = new EventStream({
      source,
      marker: async () => marker,
      checkInterval: 0,
      grace: 500,
      sleep: async ms => {
        sleeps.push(ms);
        during?.();
      }
    });
    let missed = 0;
    stream.missed.connect(() => (missed += 1));
    await stream.start(); // the starting point
    expect(missed).toBe(0);
    marker = { instance: 'i1', seq: 4 };
    during = () => source.stream.emit(emission('repo', 4)); // on its way: arrives in the grace
    await stream.check();
    expect(missed).toBe(0);
    marker = { instance: 'i1', seq: 6 };
    during = null; // 5 and 6 were sent while the socket was down, and nothing comes
    await stream.check();
    expect(missed).toBe(1);
    expect(stream.last).toEqual({ instance: 'i1', seq: 6 });
    expect(sleeps).toEqual([500, 500]);
    marker = { instance: 'i9', seq: 0 }; // a restarted server
    await stream.check();
    expect(missed).toBe(2);
    await stream.check();
    expect(missed).toBe(2);
  });

  it('is closed while the server does not answer, open again when it does', async () => {
    let up = false;
    const states: string[] = [];
    stream = new EventStream({
      source: manager(),
      marker: async () => {
        if (!up) {
          throw new Error('down');
        }
        return { instance: 'i1', seq: 0 };
      },
      checkInterval: 0
    });
    stream.stateChanged.connect((_, s) => states.push(s));
    await stream.start();
    up = true;
    await stream.check();
    expect(states).toEqual(['connecting', 'closed', 'open']);
  });

  it('checks the marker periodically, and stops listening when disposed', async () => {
    jest.useFakeTimers();
    try {
      const source = manager();
      let calls = 0;
      stream = new EventStream({
        source,
        marker: async () => {
          calls += 1;
          return { instance: 'i1', seq: 0 };
        },
        checkInterval: 1000
      });
      const events: IPipesEvent[] = [];
      stream.received.connect((_, e) => events.push(e));
      await stream.start();
      for (let i = 0; i < 3; i++) {
        jest.advanceTimersByTime(1000);
        for (let j = 0; j < 5; j++) {
          await Promise.resolve(); // the check ends
        }
      }
      expect(calls).toBe(4);
      stream.dispose();
      jest.advanceTimersByTime(3000);
      source.stream.emit(emission('repo', 1));
      expect(calls).toBe(4);
      expect(events).toEqual([]);
      expect(stream.state).toBe('closed');
    } finally {
      jest.useRealTimers();
    }
    await settle();
  });
});
