import { FRONTEND_VERSION, PipesModel } from '../model';
import { requestAPI } from '../request';

jest.mock('../request', () => ({ requestAPI: jest.fn() }));
const mocked = requestAPI as jest.MockedFunction<typeof requestAPI>;

describe('PipesModel', () => {
  beforeEach(() => mocked.mockReset());

  it('loads repos after a matching version handshake', async () => {
    mocked.mockImplementation(async (endPoint?: string) => {
      if (endPoint === 'settings') {
        return { version: FRONTEND_VERSION } as any;
      }
      return { repos: [{ name: 'data', description: '', branches: ['master'], size_bytes: 3, last_commit: null }] } as any;
    });
    const model = new PipesModel();
    let emitted = 0;
    model.changed.connect(() => (emitted += 1));
    await model.refresh();
    expect(model.error).toBeNull();
    expect(model.repos.map(r => r.name)).toEqual(['data']);
    expect(emitted).toBe(1);
  });

  it('explains a version mismatch instead of loading', async () => {
    mocked.mockResolvedValueOnce({ version: '9.9.9' } as any);
    const model = new PipesModel();
    await model.refresh();
    expect(model.error).toContain('9.9.9');
    expect(model.repos).toEqual([]);
    expect(mocked).toHaveBeenCalledTimes(1);
  });

  it('reports an unreachable server', async () => {
    mocked.mockRejectedValueOnce(new Error('boom'));
    const model = new PipesModel();
    await model.refresh();
    expect(model.error).toContain('boom');
    expect(model.loaded).toBe(true);
  });
});
