/** A table of allowed and rejected counts per row (endpoint rule, customer) with the rejection rate. */
import { formatExact, formatPercent } from '../format';

/** One row of a {@link CountsTable}. */
export interface CountsRow {
  readonly key: string;
  readonly label: string;
  readonly allowed: number;
  readonly rejected: number;
}

/** Props of {@link CountsTable}. */
export interface CountsTableProps {
  /** Header of the first column ("Rule", "Customer"). */
  readonly nameHeader: string;
  readonly rows: readonly CountsRow[];
  /** Puts "Rejected" before "Allowed", for tables about who is being limited. */
  readonly rejectedFirst?: boolean;
  readonly testId?: string;
}

/** Row headers name each row for screen readers; numbers are right-aligned and exact. */
export function CountsTable({ nameHeader, rows, rejectedFirst = false, testId }: CountsTableProps) {
  const columns = rejectedFirst
    ? (['rejected', 'allowed'] as const)
    : (['allowed', 'rejected'] as const);
  const titles = { allowed: 'Allowed', rejected: 'Rejected' };
  return (
    <div class="table-scroll">
      <table data-testid={testId}>
        <thead>
          <tr>
            <th scope="col">{nameHeader}</th>
            {columns.map((c) => (
              <th key={c} scope="col" class="num">
                {titles[c]}
              </th>
            ))}
            <th scope="col" class="num">
              Rejected %
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.key}>
              <th scope="row">{row.label}</th>
              {columns.map((c) => (
                <td key={c} class="num">
                  {formatExact(row[c])}
                </td>
              ))}
              <td class="num">{formatPercent(row.rejected, row.allowed + row.rejected)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
