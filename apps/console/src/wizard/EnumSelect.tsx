// A select over one of the API's enums (values read from the schema), with the enum's own description as help.
import type { EnumType } from './wizardQueries';

export function EnumSelect(props: { label: string; testId: string; type: EnumType | null; value: string; onChange: (value: string) => void }) {
  const values = props.type?.enumValues.map((v) => v.name) ?? [props.value];
  return (
    <p>
      <label>
        {props.label}{' '}
        <select data-testid={props.testId} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
          {values.map((v) => (
            <option key={v} value={v}>
              {v}
            </option>
          ))}
        </select>
      </label>
      {props.type?.description && <span className="muted"> {props.type.description}</span>}
    </p>
  );
}
