import { payloadErrorText } from './payloadErrors';

describe('payloadErrorText', () => {
  it('is null for an accepted command', () => {
    expect(payloadErrorText([])).toBeNull();
    expect(payloadErrorText(undefined)).toBeNull();
  });

  it('gives each typed error its message, with the field problems the message does not already name', () => {
    const text = payloadErrorText([
      { __typename: 'InvalidInputError', code: 'BAD_USER_INPUT', message: 'invalid CreateHaDevice', problems: [{ path: 'replicas.1.priority', message: 'priorities must differ' }] },
      { __typename: 'ConflictError', code: 'CONFLICT', message: 'a device named "db" already exists' },
    ]);
    expect(text).toBe('invalid CreateHaDevice (replicas.1.priority: priorities must differ)\na device named "db" already exists');
    expect(payloadErrorText([{ __typename: 'InvalidInputError', code: 'BAD_USER_INPUT', message: 'sizeBytes: must grow', problems: [{ path: 'sizeBytes', message: 'must grow' }] }])).toBe(
      'sizeBytes: must grow',
    );
  });
});
