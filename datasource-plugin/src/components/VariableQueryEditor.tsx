import { QueryEditorProps, SelectableValue } from '@grafana/data';
import { InlineField, Select } from '@grafana/ui';
import React from 'react';

import type { DataSource } from '../datasource';
import { BdcOptions, BdcQuery, BdcVariableQuery, VariableResource } from '../types';

type Props = QueryEditorProps<DataSource, BdcQuery, BdcOptions, BdcVariableQuery>;

export const VARIABLE_OPTIONS: Array<SelectableValue<VariableResource>> = [
  { label: 'Regions', value: 'regions' },
  { label: 'Acquisition channels', value: 'channels' },
  { label: 'Genders', value: 'genders' },
  { label: 'Trainers', value: 'trainers', description: 'Trainer ids, shown as "Trainer 12"' },
  { label: 'Appointment channels', value: 'appointment-channels' },
  { label: 'Activity types', value: 'activity-types' },
  { label: 'Features', value: 'features' },
  { label: 'Event kinds', value: 'event-kinds' },
  { label: 'Models', value: 'models' },
  { label: 'KPIs', value: 'kpis' },
];

/** VariableQueryEditor picks what a dashboard variable of this datasource lists. */
export function VariableQueryEditor({ query, onChange }: Props) {
  return (
    <InlineField label="Values of" labelWidth={20}>
      <Select<VariableResource>
        inputId="variable-resource"
        aria-label="Values of"
        width={30}
        options={VARIABLE_OPTIONS}
        value={query.resource}
        placeholder="Choose a list"
        onChange={(v) => v.value && onChange({ ...query, resource: v.value })}
      />
    </InlineField>
  );
}
