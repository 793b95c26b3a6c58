import { behind, contentType, IService, ServingModel } from '../model/serving';
import { requestAPI } from '../request';
import { router } from './helpers';

jest.mock('../request', () => ({ requestAPI: jest.fn(), requestBytes: jest.fn() }));
const api = requestAPI as jest.MockedFunction<typeof requestAPI>;

function service(extra: Partial<IService> = {}): IService {
  return {
    name: 'model',
    ref: 'model@master',
    state: 'ready',
    commits: ['c1'],
    head: 'c1',
    replicas: [],
    requests: 3,
    errors: 0,
    rate: 0.5,
    urls: ['http://127.0.0.1:8700'],
    pipeline: 'model',
    last_error: null,
    ...extra
  };
}

describe('ServingModel', () => {
  beforeEach(() => api.mockReset());

  it('lists services and says when one answers from behind its head', async () => {
    api.mockImplementation(router([['services', { items: [service(), service({ name: 'b', head: 'c2' })] }]]).impl);
    const m = new ServingModel();
    let emitted = 0;
    m.changed.connect(() => emitted++);
    await m.refresh();
    expect(m.loaded).toBe(true);
    expect(m.services.map(s => s.name)).toEqual(['model', 'b']);
    expect(m.services.map(behind)).toEqual([false, true]);
    expect(emitted).toBe(1);
  });

  it('predicts through the server with the body’s content type, then refreshes the counts', async () => {
    const answer = { service: 'model', commit: 'c1', result: [{ y: 2 }], url: 'u', ms: 1.5 };
    const r = router([
      ['services/model/predict', answer],
      ['services', { items: [service({ requests: 4 })] }]
    ]);
    api.mockImplementation(r.impl);
    const m = new ServingModel();
    m.setBody('model', '{"x": 1}');
    expect(m.trial('model').body).toBe('{"x": 1}');
    const running = m.predict('model');
    expect(m.trial('model').running).toBe(true);
    expect(await running).toEqual(answer);
    expect(m.trial('model')).toEqual({ body: '{"x": 1}', running: false, prediction: answer, error: null });
    const post = r.calls.find(c => c.endPoint === 'services/model/predict')!;
    expect(post.init.method).toBe('POST');
    expect(post.init.body).toBe('{"x": 1}');
    expect(post.init.headers).toEqual({ 'Content-Type': 'application/json' });
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(r.calls.some(c => c.endPoint === 'services')).toBe(true);
  });

  it('keeps the error of a failed prediction and of a failed listing', async () => {
    api.mockImplementation(
      router([
        ['services/model/predict', new Error('predict failed in serve.ipynb cell 2, line 3: KeyError')],
        ['services', new Error('HTTP 500')]
      ]).impl
    );
    const m = new ServingModel();
    m.setBody('model', 'x\n1\n');
    expect(await m.predict('model')).toBeNull();
    expect(m.trial('model').error).toContain('KeyError');
    await m.refresh();
    expect(m.error).toBe('Could not list the endpoints: HTTP 500');
  });

  it('polls while started', async () => {
    jest.useFakeTimers();
    try {
      api.mockImplementation(router([['services', { items: [] }]]).impl);
      const m = new ServingModel();
      m.start(1000);
      jest.advanceTimersByTime(3000);
      m.stop();
      jest.advanceTimersByTime(3000);
      expect(api).toHaveBeenCalledTimes(4); // at once, then every second, then nothing
    } finally {
      jest.useRealTimers();
    }
  });

  it('sends JSON as JSON and anything else as CSV', () => {
    expect(contentType('{"a": 1}')).toBe('application/json');
    expect(contentType('[1, 2]')).toBe('application/json');
    expect(contentType('a,b\n1,2\n')).toBe('text/csv');
  });
});
