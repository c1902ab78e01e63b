import { BufferPool } from './bufferPool';

describe('BufferPool', () => {
  it('reuses buffers by power-of-two size class', () => {
    const pool = new BufferPool(12, 20, 4);
    const a = pool.take(5000);
    expect(a.length).toBe(8192);
    pool.give(a);
    expect(pool.take(8000)).toBe(a);
  });
  it('ignores slices and buffers of a size it does not pool', () => {
    const pool = new BufferPool(12, 20, 4);
    const a = pool.take(4096);
    pool.give(a.subarray(0, 100));
    pool.give(Buffer.alloc(5000));
    const b = pool.take(4096);
    expect(b).not.toBe(a);
    expect(b.length).toBe(4096);
    expect(b.buffer.byteLength).toBe(4096);
  });
  it('allocates exact buffers beyond the largest class', () => {
    expect(new BufferPool(12, 14, 4).take(100000).length).toBe(100000);
  });
});
