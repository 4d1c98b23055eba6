import { SelectableValue } from '@grafana/data';
import { InlineField, MultiSelect, Stack } from '@grafana/ui';
import React from 'react';

import type { DataSource } from '../datasource';
import { FilterKey, Filters, ListResource, STANDARD_AGE_BANDS } from '../types';
import { selectedAll, useOptions, variableOptions } from './useOptions';

interface Props {
  datasource: DataSource;
  filters: Filters | undefined;
  onChange: (filters: Filters | undefined) => void;
}

interface FilterSpec {
  key: FilterKey;
  label: string;
  /** resource lists the values; none for a fixed list. */
  resource?: ListResource;
  fallback: readonly string[];
  tooltip?: string;
}

const SPECS: FilterSpec[] = [
  { key: 'region', label: 'Region', resource: 'regions', fallback: [] },
  { key: 'acquisitionChannel', label: 'Acquisition channel', resource: 'channels', fallback: [] },
  { key: 'gender', label: 'Gender', resource: 'genders', fallback: [] },
  {
    key: 'ageBand',
    label: 'Age band',
    fallback: STANDARD_AGE_BANDS,
    tooltip: 'Age at registration; type any band such as "30-39" or "70+"',
  },
  { key: 'trainerId', label: 'Trainer', resource: 'trainers', fallback: [] },
  {
    key: 'appointmentChannel',
    label: 'Appointment channel',
    resource: 'appointment-channels',
    fallback: ['in_person', 'video', 'phone'],
    tooltip: 'Beneficiaries with an appointment on one of these channels; appointment events count only those',
  },
];

/**
 * FiltersRow edits the filters every kind shares. Each list takes values from its resource,
 * typed values and dashboard variables ("$region", expanded to all its values on query).
 */
export function FiltersRow({ datasource, filters, onChange }: Props) {
  const set = (key: FilterKey, values: Array<string | number>) => {
    const next: Filters = { ...filters };
    if (values.length > 0) {
      (next as Record<FilterKey, Array<string | number>>)[key] = values;
    } else {
      delete next[key];
    }
    onChange(Object.keys(next).length > 0 ? next : undefined);
  };
  return (
    <Stack gap={0} wrap="wrap">
      {SPECS.map((spec) => (
        <FilterSelect key={spec.key} spec={spec} datasource={datasource} values={filters?.[spec.key]} onChange={set} />
      ))}
    </Stack>
  );
}

interface SelectProps {
  spec: FilterSpec;
  datasource: DataSource;
  values: Array<string | number> | undefined;
  onChange: (key: FilterKey, values: Array<string | number>) => void;
}

function FilterSelect({ spec, datasource, values, onChange }: SelectProps) {
  const opts = useOptions<string | number>(datasource, spec.resource, spec.fallback);
  const options: Array<SelectableValue<string | number>> = [...opts.options, ...variableOptions()];
  const id = `filter-${spec.key}`;

  const onSelect = (items: Array<SelectableValue<string | number>>) => {
    const picked = items.map((i) => i.value).filter((v): v is string | number => v !== undefined && v !== '');
    // A typed trainer id is a number; a variable stays a string until interpolated.
    onChange(
      spec.key,
      spec.key === 'trainerId' ? picked.map((v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v)) : picked
    );
  };

  return (
    <InlineField
      label={spec.label}
      labelWidth={20}
      tooltip={spec.tooltip}
      error={opts.error}
      invalid={Boolean(opts.error)}
    >
      <MultiSelect<string | number>
        inputId={id}
        aria-label={spec.label}
        width={30}
        options={options}
        value={selectedAll(values, options)}
        isLoading={opts.loading}
        allowCustomValue
        placeholder="All"
        onChange={onSelect}
      />
    </InlineField>
  );
}
