/** "Count per minute / hour / day", with the combinations the API refuses for a range disabled. */
import {
  isUsefulCombination,
  RESOLUTION_LABELS,
  RESOLUTIONS,
  type Resolution,
  type UsageRange,
} from '../range';
import { Segmented } from './segmented';

/** Props of {@link ResolutionPicker}. */
export interface ResolutionPickerProps {
  /** Form name, unique on the page. */
  readonly name: string;
  readonly range: UsageRange;
  readonly value: Resolution;
  readonly onChange: (resolution: Resolution) => void;
}

/** The resolution picker shared by the customer and operator views. */
export function ResolutionPicker({ name, range, value, onChange }: ResolutionPickerProps) {
  return (
    <Segmented
      legend="Count per"
      name={name}
      value={value}
      options={RESOLUTIONS.map((r) => ({
        value: r,
        label: RESOLUTION_LABELS[r],
        disabled: !isUsefulCombination(range, r),
      }))}
      onChange={onChange}
    />
  );
}
