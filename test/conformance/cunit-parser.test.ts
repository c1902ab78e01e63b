// The CUnit parser behind docs/conformance.md, on excerpts of real iscsi-test-cu output (tgt and Tandem runs).
import { countBySuite, parseCunit } from '../support/cunit';

const SAMPLE = [
  'Suite: CompareAndWrite',
  '  Test: Simple ...    [SKIPPED] COMPAREANDWRITE is not implemented.',
  '    [SKIPPED] COMPAREANDWRITE is not implemented.',
  'passed',
  'Suite: GetLBAStatus',
  '  Test: Simple ...passed',
  '  Test: BeyondEol ...    [FAILED] GET_LBA_STATUS successful but should have failed',
  'FAILED',
  '    1. test_get_lba_status_beyond_eol.c:38  - CU_ASSERT_EQUAL(_r,0)',
  'Suite: PreventAllow',
  '  Test: 2ITNexuses ...    [SKIPPED] Logical unit is not removable. Skipping test.',
  'passed    [SKIPPED] PERSISTENT RESERVE IN is not implemented.',
  '',
  'Suite: Inquiry',
  '  Test: VersionDescriptors ...passed    [SKIPPED] PERSISTENT RESERVE IN is not implemented.',
  'Suite: iSCSIdatasn',
  '  Test: iSCSIDataSnInvalid ...FAILED',
  '    1. test_iscsi_datasn_invalid.c:98  - CU_ASSERT_NOT_EQUAL(ret,0)',
  'Suite: Reserve6',
  '  Test: LUNReset ...passed    [FAILED] PRIN command: failed with sense.',
  '',
  '  Test: Cut ...    doing something',
].join('\n');

test('verdicts, skips (CUnit "passed" + [SKIPPED]), teardown noise and a cut-off run', () => {
  const tests = parseCunit(SAMPLE);
  const by = (s: string, n: string) => tests.find((t) => t.suite === s && t.name === n);
  expect(by('CompareAndWrite', 'Simple')).toMatchObject({ outcome: 'skipped', reason: 'COMPAREANDWRITE is not implemented.' });
  expect(by('GetLBAStatus', 'Simple')?.outcome).toBe('passed');
  expect(by('GetLBAStatus', 'BeyondEol')).toMatchObject({ outcome: 'failed', reason: 'GET_LBA_STATUS successful but should have failed' });
  expect(by('PreventAllow', '2ITNexuses')).toMatchObject({ outcome: 'skipped', reason: 'Logical unit is not removable. Skipping test.' });
  expect(by('Inquiry', 'VersionDescriptors')?.outcome).toBe('passed');
  expect(by('iSCSIdatasn', 'iSCSIDataSnInvalid')).toMatchObject({ outcome: 'failed', reason: 'test_iscsi_datasn_invalid.c:98  - CU_ASSERT_NOT_EQUAL(ret,0)' });
  expect(by('Reserve6', 'LUNReset')?.outcome).toBe('passed');
  expect(by('Reserve6', 'Cut')?.outcome).toBe('failed');
  expect(countBySuite(tests).find((c) => c.suite === 'GetLBAStatus')).toEqual({ suite: 'GetLBAStatus', passed: 1, failed: 1, skipped: 0 });
});
