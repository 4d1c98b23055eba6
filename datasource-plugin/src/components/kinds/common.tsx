import { SelectableValue } from '@grafana/data';
import { InlineField, Select } from '@grafana/ui';
import React from 'react';

import type { DataSource } from '../../datasource';
import { Breakdown, Period, QueryOf, QueryType } from '../../types';
import { selected, variableOptions } from '../useOptions';

/** KindProps are the props of the editor of one kind of query. */
export interface KindProps<T extends QueryType> {
  query: QueryOf<T>;
  datasource: DataSource;
  /** onChange takes the whole query; the QueryEditor saves it and runs it. */
  onChange: (query: QueryOf<T>) => void;
}

/** LABEL_WIDTH aligns the fields of the kind editors. */
export const LABEL_WIDTH = 20;

export const PERIOD_OPTIONS: Array<SelectableValue<Period>> = [
  { label: 'Day', value: 'day' },
  { label: 'Week', value: 'week' },
  { label: 'Month', value: 'month' },
];

const BREAKDOWN_OPTIONS: Array<SelectableValue<Breakdown>> = [
  { label: 'None', value: '' },
  { label: 'Acquisition channel', value: 'acquisition_channel' },
  { label: 'Region', value: 'region' },
  { label: 'Gender', value: 'gender' },
  { label: 'Age band', value: 'age_band' },
];

interface BreakdownProps {
  id: string;
  value: Breakdown | undefined;
  onChange: (value: Breakdown) => void;
}

/** BreakdownField picks the attribute of the beneficiary that splits the result. */
export function BreakdownField({ id, value, onChange }: BreakdownProps) {
  const options = [...BREAKDOWN_OPTIONS, ...(variableOptions() as Array<SelectableValue<Breakdown>>)];
  return (
    <InlineField
      label="Breakdown"
      labelWidth={LABEL_WIDTH}
      tooltip="Split the result by an attribute of the beneficiary"
    >
      <Select<Breakdown>
        inputId={id}
        aria-label="Breakdown"
        width={26}
        options={options}
        value={selected<Breakdown>(value ?? '', options) ?? BREAKDOWN_OPTIONS[0]}
        allowCustomValue
        onChange={(v) => onChange(v?.value ?? '')}
      />
    </InlineField>
  );
}
