import { BufferPool } from './bufferPool';

describe('BufferPool', () => {
  it('hands out exactly the size asked for, over memory reused by power-of-two size class', () => {
    const pool = new BufferPool(12, 20, 4);
    const a = pool.take(5000);
    expect(a.length).toBe(5000);
    expect(a.buffer.byteLength).toBe(8192);
    pool.give(a);
    const b = pool.take(8000);
    expect(b.length).toBe(8000);
    expect(b.buffer).toBe(a.buffer);
  });

  it('takes back a view that starts at the first byte of pooled memory', () => {
    const pool = new BufferPool(12, 20, 4);
    const a = pool.take(4096);
    pool.give(a.subarray(0, 100));
    expect(pool.take(4096).buffer).toBe(a.buffer);
  });

  it('ignores foreign buffers and views further into pooled memory', () => {
    const pool = new BufferPool(12, 20, 4);
    const a = pool.take(4096);
    pool.give(a.subarray(100));
    pool.give(Buffer.alloc(4096));
    pool.give(Buffer.allocUnsafeSlow(8192));
    expect(pool.idleCount).toBe(0);
    expect(pool.take(4096).buffer).not.toBe(a.buffer);
  });

  it('refuses a second give of the same memory, so two takers never share it', () => {
    const pool = new BufferPool(12, 20, 4);
    const a = pool.take(4096);
    pool.give(a);
    pool.give(a);
    pool.give(a.subarray(0, 10));
    expect(pool.idleCount).toBe(1);
    const b = pool.take(4096);
    const c = pool.take(4096);
    expect(b.buffer).toBe(a.buffer);
    expect(c.buffer).not.toBe(b.buffer);
  });

  it('keeps at most the configured count and bytes per class', () => {
    const pool = new BufferPool(12, 20, 3, 16384);
    const small = [1, 2, 3, 4].map(() => pool.take(4096));
    small.forEach((b) => pool.give(b));
    expect(pool.idleCount).toBe(3);
    const big = [1, 2, 3].map(() => pool.take(1 << 20));
    big.forEach((b) => pool.give(b));
    expect(pool.idleCount).toBe(3 + 2); // 16 KiB of 1 MiB buffers is none, but two are always kept
  });

  it('allocates exact buffers beyond the largest class, and does not pool them', () => {
    const pool = new BufferPool(12, 14, 4);
    const big = pool.take(100000);
    expect(big.length).toBe(100000);
    pool.give(big);
    expect(pool.idleCount).toBe(0);
  });
});
