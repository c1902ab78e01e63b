// The randrw mix rule: which draws read, at the edges and in between.
import { pickRead } from './mixedWorkload';

describe('pickRead', () => {
  it('reads for draws below the read share and writes for the rest', () => {
    const draws = Array.from({ length: 100 }, (_, i) => i / 100);
    expect(draws.filter((d) => pickRead(d, 70))).toHaveLength(70);
    expect(pickRead(0.69, 70)).toBe(true);
    expect(pickRead(0.7, 70)).toBe(false);
  });

  it('never reads at 0 % and always reads at 100 %', () => {
    expect(pickRead(0, 0)).toBe(false);
    expect(pickRead(0.999999, 100)).toBe(true);
  });
});
