// The arbitration table: priority, heartbeat and majority rows, each a pure call (no network, no disk).
import { lossReason, outranks, stepsAside, tally, type Loss, type TallyInput } from './arbitration';

const loss = (l: Partial<Loss>): Loss => ({ brokenDisk: false, heartbeatAnswers: false, memberOutranksUs: false, ...l });

describe('outranks', () => {
  it('higher priority wins; equal priorities: the larger node id', () => {
    expect(outranks(200, 'a', 100, 'b')).toBe(true);
    expect(outranks(100, 'z', 200, 'a')).toBe(false);
    expect(outranks(100, 'b', 100, 'a')).toBe(true);
    expect(outranks(100, 'a', 100, 'b')).toBe(false);
    expect(outranks(100, 'a', 100, 'a')).toBe(false);
  });
});

describe('stepsAside (sync links down, or a failed write, while this replica serves)', () => {
  it.each([
    // brokenDisk, heartbeat answers, member outranks us → step aside
    [false, true, true, true],
    [false, true, false, false],
    [false, false, true, false],
    [false, false, false, false],
    [true, true, true, false],
    [true, true, false, false],
  ])('brokenDisk %p, heartbeat %p, member outranks us %p → %p', (brokenDisk, heartbeatAnswers, memberOutranksUs, expected) => {
    expect(stepsAside({ brokenDisk, heartbeatAnswers, memberOutranksUs })).toBe(expected);
  });
});

describe('stepsAside for a member that said it is leaving', () => {
  it('never steps aside for it, whatever its priority and heartbeat', () => {
    for (const heartbeatAnswers of [true, false]) for (const memberOutranksUs of [true, false]) expect(stepsAside(loss({ leaving: true, heartbeatAnswers, memberOutranksUs }))).toBe(false);
  });
});

describe('tally (who may go on without the lost member)', () => {
  const base = (over: Partial<TallyInput>): TallyInput => ({ strategy: 'heartbeat', partners: 1, witnessConfigured: false, loss: loss({}), agreed: 0, ...over });

  it('heartbeat strategy: the group always goes on, no witness asked', () => {
    for (const heartbeatAnswers of [true, false]) {
      for (const partners of [1, 2]) {
        const t = tally(base({ partners, loss: loss({ heartbeatAnswers }) }));
        expect(t).toMatchObject({ goesOn: true, askWitness: false });
      }
    }
  });

  it.each([
    // partners, witness, heartbeat answers, agreed, witness granted (undefined: not asked yet) → votes, total, goesOn, askWitness
    [1, true, true, 0, undefined, 2, 3, true, false], // 2 nodes + witness, partner alive (lower priority): its vote counts
    [1, true, false, 0, undefined, 1, 3, false, true], // partner silent: ask the witness
    [1, true, false, 0, true, 2, 3, true, false], // the witness's vote: 2 of 3
    [1, true, false, 0, false, 1, 3, false, false], // the witness refused: blocked, not asked again
    [1, false, false, 0, undefined, 1, 2, false, true], // no witness configured: asked (an empty list says no), still no majority
    [1, false, false, 0, false, 1, 2, false, false],
    [2, false, false, 1, undefined, 2, 3, true, false], // 3 nodes: the other member agreed
    [2, false, false, 0, undefined, 1, 3, false, true], // 3 nodes, alone: no majority without the witness
    [2, true, false, 1, undefined, 2, 4, false, true], // 3 nodes + witness: 2 of 4 is not a majority
    [2, true, false, 1, true, 3, 4, true, false],
    [2, false, true, 1, undefined, 3, 3, true, false], // the lost member answers on the heartbeat with lower priority
  ])('node-majority, %p partner(s), witness %p, heartbeat %p, agreed %p, witness granted %p → %p of %p votes, goes on %p, ask witness %p', (partners, witnessConfigured, heartbeatAnswers, agreed, witnessGranted, votes, total, goesOn, askWitness) => {
    const t = tally(base({ strategy: 'node-majority', partners, witnessConfigured, loss: loss({ heartbeatAnswers }), agreed, witnessGranted }));
    expect(t).toEqual({ votes, total, goesOn, askWitness });
  });

  it('a member that left on purpose (a graceful stop) gives up its vote: the group goes on, no witness asked', () => {
    for (const heartbeatAnswers of [true, false]) {
      const t = tally(base({ strategy: 'node-majority', partners: 1, witnessConfigured: true, loss: loss({ leaving: true, heartbeatAnswers }) }));
      expect(t).toEqual({ votes: 2, total: 3, goesOn: true, askWitness: false });
    }
  });

  it('a member that failed a write is there but gives no vote, and the witness is not asked', () => {
    const t = tally(base({ strategy: 'node-majority', partners: 1, witnessConfigured: true, loss: loss({ brokenDisk: true, heartbeatAnswers: true }) }));
    expect(t).toEqual({ votes: 1, total: 3, goesOn: false, askWitness: false });
  });
});

describe('lossReason', () => {
  const t = (votes: number) => ({ votes, total: 3, goesOn: true, askWitness: false });
  it('names the cause the way the event log says it', () => {
    expect(lossReason('b', 'r', loss({ brokenDisk: true, heartbeatAnswers: true }), t(1), 0, 'heartbeat')).toBe('b failed a write: r');
    expect(lossReason('b', 'r', loss({ leaving: true, heartbeatAnswers: true }), t(2), 0, 'heartbeat')).toBe('b left the group: it is shutting down (r)');
    expect(lossReason('b', 'r', loss({ heartbeatAnswers: true }), t(2), 0, 'heartbeat')).toBe('sync links down, b alive on the heartbeat with lower priority (r)');
    expect(lossReason('b', 'r', loss({}), t(2), 0, 'node-majority')).toBe('b silent; the witness gave this replica its vote (r)');
    expect(lossReason('b', 'r', loss({}), t(2), 1, 'node-majority')).toBe('b presumed dead: sync and heartbeat silent (r)');
    expect(lossReason('b', 'r', loss({}), t(1), 0, 'heartbeat')).toBe('b presumed dead: sync and heartbeat silent (r)');
  });
});
