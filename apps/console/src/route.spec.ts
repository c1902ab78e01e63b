/** Hash routes: every page the console has, ids decoded, anything else reported as unknown. */
import { parseRoute } from './route';

describe('parseRoute', () => {
  it('maps the hashes to pages', () => {
    expect(parseRoute('')).toEqual({ page: 'fleet' });
    expect(parseRoute('#/')).toEqual({ page: 'fleet' });
    expect(parseRoute('#/fleet')).toEqual({ page: 'fleet' });
    expect(parseRoute('#/login')).toEqual({ page: 'login' });
    expect(parseRoute('#/create')).toEqual({ page: 'create' });
    expect(parseRoute('#/node/812e4217-dc46-4ad8-a8d0-a6a9199fbe72')).toEqual({ page: 'node', id: '812e4217-dc46-4ad8-a8d0-a6a9199fbe72' });
    expect(parseRoute('#/device/a%2Fb')).toEqual({ page: 'device', id: 'a/b' });
  });

  it('reports an unknown path instead of guessing', () => {
    expect(parseRoute('#/device/')).toEqual({ page: 'unknown', path: '/device/' });
    expect(parseRoute('#/node/x/y')).toEqual({ page: 'unknown', path: '/node/x/y' });
    expect(parseRoute('#/settings')).toEqual({ page: 'unknown', path: '/settings' });
  });
});
