import { DEFAULT_TARGET_LIMITS, NegotiationError, OperationalNegotiator, TargetLimits } from './negotiation';

const make = (limits: Partial<TargetLimits> = {}, discovery = false) =>
  new OperationalNegotiator({ ...DEFAULT_TARGET_LIMITS, ...limits }, () => discovery);

describe('OperationalNegotiator', () => {
  it('applies each key\'s result function (min, max, AND, OR, list)', () => {
    const n = make({ maxBurstLength: 1048576 });
    const out = Object.fromEntries(n.answer([
      ['HeaderDigest', 'None,CRC32C'], ['DataDigest', 'CRC32C,None'],
      ['MaxBurstLength', '16776192'], ['FirstBurstLength', '262144'], ['MaxOutstandingR2T', '64'],
      ['ImmediateData', 'Yes'], ['InitialR2T', 'No'], ['DefaultTime2Wait', '0'], ['DefaultTime2Retain', '60'],
      ['ErrorRecoveryLevel', '2'], ['MaxRecvDataSegmentLength', '65536'], ['IFMarker', 'No'],
    ]));
    expect(out).toMatchObject({
      HeaderDigest: 'None', DataDigest: 'CRC32C', MaxBurstLength: '1048576', FirstBurstLength: '262144',
      MaxOutstandingR2T: '16', ImmediateData: 'Yes', InitialR2T: 'No', DefaultTime2Wait: '2', DefaultTime2Retain: '20',
      ErrorRecoveryLevel: '0', IFMarker: 'No', MaxRecvDataSegmentLength: String(DEFAULT_TARGET_LIMITS.maxRecvDataSegmentLength),
    });
    expect(n.params).toMatchObject({ headerDigest: false, dataDigest: true, maxXmitDataSegmentLength: 65536, maxBurstLength: 1048576 });
  });

  it('keeps FirstBurstLength within MaxBurstLength', () => {
    const n = make();
    n.answer([['MaxBurstLength', '65536'], ['FirstBurstLength', '262144']]);
    expect(n.params.firstBurstLength).toBe(65536);
  });

  it('rejects out-of-range and malformed values, and does not understand unknown keys', () => {
    const out = Object.fromEntries(make().answer([
      ['MaxRecvDataSegmentLength', '100'], ['MaxBurstLength', 'lots'], ['ImmediateData', 'Maybe'],
      ['HeaderDigest', 'MD5'], ['X-com.example.Foo', '1'],
    ]));
    expect(out).toEqual({ MaxRecvDataSegmentLength: 'Reject', MaxBurstLength: 'Reject', ImmediateData: 'Reject', HeaderDigest: 'Reject', 'X-com.example.Foo': 'NotUnderstood' });
  });

  it('makes digests mandatory when the target accepts only CRC32C', () => {
    const n = make({ headerDigests: ['CRC32C'] });
    expect(n.answer([['HeaderDigest', 'None,CRC32C']])).toEqual([['HeaderDigest', 'CRC32C']]);
    expect(make({ headerDigests: ['CRC32C'] }).answer([['HeaderDigest', 'None']])).toEqual([['HeaderDigest', 'Reject']]);
  });

  it('answers Irrelevant to session keys in a discovery session', () => {
    expect(make({}, true).answer([['MaxBurstLength', '65536']])).toEqual([['MaxBurstLength', 'Irrelevant']]);
  });

  it('refuses a key offered twice', () => {
    const n = make();
    n.answer([['MaxBurstLength', '65536']]);
    expect(() => n.answer([['MaxBurstLength', '65536']])).toThrow(NegotiationError);
  });

  it('declares our MaxRecvDataSegmentLength once when the initiator did not ask', () => {
    const n = make();
    expect(n.closingDeclarations()).toEqual([['MaxRecvDataSegmentLength', '262144']]);
    expect(n.closingDeclarations()).toEqual([]);
  });
});
