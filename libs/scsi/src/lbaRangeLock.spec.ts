import { LbaRangeLock } from './lbaRangeLock';

const tick = () => new Promise((r) => setImmediate(r));

describe('LbaRangeLock', () => {
  it('grants disjoint ranges at once and refuses overlapping ones', () => {
    const lock = new LbaRangeLock();
    const a = lock.tryAcquire(0, 8);
    const b = lock.tryAcquire(8, 8);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(b).toBeGreaterThanOrEqual(0);
    expect(lock.tryAcquire(7, 2)).toBe(-1);
    expect(lock.tryAcquire(15, 1)).toBe(-1);
    expect(lock.tryAcquire(16, 1)).toBeGreaterThanOrEqual(0);
    expect(lock.held).toBe(3);
    lock.release(a);
    expect(lock.tryAcquire(0, 8)).toBeGreaterThanOrEqual(0);
  });

  it('makes an overlapping request wait until the holder releases', async () => {
    const lock = new LbaRangeLock();
    const holder = lock.tryAcquire(100, 10);
    let granted = -1;
    void lock.acquire(105, 1).then((slot) => (granted = slot));
    await tick();
    expect(granted).toBe(-1);
    expect(lock.waiting).toBe(1);
    lock.release(holder);
    await tick();
    expect(granted).toBeGreaterThanOrEqual(0);
    expect(lock.held).toBe(1);
  });

  it('serves waiters in order: a later request overlapping an earlier waiter queues behind it', async () => {
    const lock = new LbaRangeLock();
    const order: string[] = [];
    const first = lock.tryAcquire(0, 4);
    const caw = lock.acquire(2, 4).then((s) => (order.push('caw'), s)); // waits for `first`
    // Does not overlap `first` but overlaps the waiting CAW: must not overtake it.
    expect(lock.tryAcquire(4, 4)).toBe(-1);
    const write = lock.acquire(4, 4).then((s) => (order.push('write'), s));
    // Overlaps nothing at all: goes at once.
    expect(lock.tryAcquire(100, 1)).toBeGreaterThanOrEqual(0);
    lock.release(first);
    const cawSlot = await caw;
    await tick();
    expect(order).toEqual(['caw']);
    lock.release(cawSlot);
    lock.release(await write);
    expect(order).toEqual(['caw', 'write']);
  });

  it('grows past its initial slots and reuses released ones', () => {
    const lock = new LbaRangeLock();
    const slots = Array.from({ length: 200 }, (_, i) => lock.tryAcquire(i * 2, 1));
    expect(new Set(slots).size).toBe(200);
    expect(slots.every((s) => s >= 0)).toBe(true);
    expect(lock.tryAcquire(398, 1)).toBe(-1);
    for (const s of slots) lock.release(s);
    expect(lock.held).toBe(0);
    expect(lock.tryAcquire(0, 1000)).toBeGreaterThanOrEqual(0);
  });

  it('treats a range of 2^64-ish LBAs without precision trouble at realistic capacities', () => {
    const lock = new LbaRangeLock();
    const big = 2 ** 40;
    expect(lock.tryAcquire(big, 1)).toBeGreaterThanOrEqual(0);
    expect(lock.tryAcquire(big + 1, 1)).toBeGreaterThanOrEqual(0);
    expect(lock.tryAcquire(big, 2)).toBe(-1);
  });
});
