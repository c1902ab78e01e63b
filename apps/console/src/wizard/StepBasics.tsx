// Wizard step 1: the device itself — name, size (binary units), sector size, store kind and cache mode.
import { EnumSelect } from './EnumSelect';
import { SECTOR_SIZES, type WizardState } from './wizardModel';
import type { EnumsAnswer } from './wizardQueries';

export function StepBasics(props: { state: WizardState; enums: EnumsAnswer | undefined; update: (patch: Partial<WizardState>) => void }) {
  const { state, update } = props;
  return (
    <fieldset data-testid="wizard-step-basics">
      <legend>1. Device</legend>
      <p>
        <label>
          Name <input type="text" data-testid="wizard-name" value={state.name} onChange={(e) => update({ name: e.target.value })} autoFocus />
        </label>
      </p>
      <p>
        <label>
          Size <input type="text" data-testid="wizard-size" placeholder="e.g. 1GiB" value={state.size} onChange={(e) => update({ size: e.target.value })} />
        </label>
        <span className="muted"> binary units: 512MiB, 1GiB, 10G, 1T, or bytes</span>
      </p>
      <p>
        <label>
          Sector size{' '}
          <select data-testid="wizard-sector-size" value={state.sectorSize} onChange={(e) => update({ sectorSize: Number(e.target.value) })}>
            {SECTOR_SIZES.map((s) => (
              <option key={s} value={s}>
                {s} bytes
              </option>
            ))}
          </select>
        </label>
      </p>
      <EnumSelect label="Store kind" testId="wizard-store-kind" type={props.enums?.storeKind ?? null} value={state.storeKind} onChange={(storeKind) => update({ storeKind })} />
      <EnumSelect label="Cache" testId="wizard-cache" type={props.enums?.cacheMode ?? null} value={state.cacheMode} onChange={(cacheMode) => update({ cacheMode })} />
    </fieldset>
  );
}
