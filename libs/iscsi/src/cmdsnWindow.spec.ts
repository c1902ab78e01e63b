import { CmdSnWindow } from './cmdsnWindow';
import { snLessThan } from './constants';

describe('CmdSnWindow', () => {
  it('delivers in CmdSN order and holds commands that arrive early', () => {
    const got: string[] = [];
    const w = new CmdSnWindow<string>(10, 8, (x) => got.push(x));
    expect(w.offer(12, 'c')).toBe(true);
    expect(w.offer(11, 'b')).toBe(true);
    expect(got).toEqual([]);
    w.offer(10, 'a');
    expect(got).toEqual(['a', 'b', 'c']);
    expect(w.expCmdSn).toBe(13);
  });

  it('ignores commands outside [ExpCmdSN, MaxCmdSN] and duplicates', () => {
    const got: string[] = [];
    const w = new CmdSnWindow<string>(1, 4, (x) => got.push(x));
    expect(w.maxCmdSn).toBe(4);
    expect(w.offer(0, 'too low')).toBe(false);
    expect(w.offer(5, 'too high')).toBe(false);
    expect(w.offer(3, 'x')).toBe(true);
    expect(w.offer(3, 'dup')).toBe(false);
    expect(got).toEqual([]);
  });

  it('narrows MaxCmdSN while commands run and opens it as they complete', () => {
    const w = new CmdSnWindow<number>(0, 2, () => undefined);
    w.offer(0, 0);
    w.offer(1, 1);
    expect(w.expCmdSn).toBe(2);
    expect(w.maxCmdSn).toBe(1); // full: nothing more may be sent
    expect(w.offer(2, 2)).toBe(false);
    w.completed();
    expect(w.maxCmdSn).toBe(2);
    expect(w.offer(2, 2)).toBe(true);
  });

  it('wraps around 2^32 with serial number arithmetic', () => {
    const got: number[] = [];
    const w = new CmdSnWindow<number>(0xfffffffe, 8, (x) => got.push(x));
    w.offer(0xfffffffe, 1);
    w.offer(0xffffffff, 2);
    w.offer(0, 3);
    expect(got).toEqual([1, 2, 3]);
    expect(w.expCmdSn).toBe(1);
    expect(snLessThan(0xffffffff, 0)).toBe(true);
    expect(snLessThan(0, 0xffffffff)).toBe(false);
  });

  it('consumes a CmdSN without a command (immediate TMF naming an unseen task)', () => {
    const got: number[] = [];
    const w = new CmdSnWindow<number>(5, 8, (x) => got.push(x));
    w.offer(6, 6);
    w.consume(5);
    expect(got).toEqual([6]);
    expect(w.expCmdSn).toBe(7);
  });
});
