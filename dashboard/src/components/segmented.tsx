/** A labelled group of radio buttons styled as a segmented control (arrow keys move between options). */

/** One option of a {@link Segmented} control. */
export interface SegmentOption<T extends string> {
  readonly value: T;
  readonly label: string;
  readonly disabled?: boolean;
}

/** Props of {@link Segmented}. */
export interface SegmentedProps<T extends string> {
  readonly legend: string;
  /** Radio group name; unique per page. */
  readonly name: string;
  readonly value: T;
  readonly options: readonly SegmentOption<T>[];
  onChange(value: T): void;
}

/** Native radios keep the keyboard and screen-reader behaviour right for free. */
export function Segmented<T extends string>({
  legend,
  name,
  value,
  options,
  onChange,
}: SegmentedProps<T>) {
  return (
    <fieldset class="segmented">
      <legend>{legend}</legend>
      <div class="segmented-options">
        {options.map((option) => (
          <label key={option.value} class={option.disabled ? 'is-disabled' : undefined}>
            <input
              type="radio"
              name={name}
              value={option.value}
              checked={option.value === value}
              disabled={option.disabled}
              onChange={() => onChange(option.value)}
            />
            <span>{option.label}</span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}
