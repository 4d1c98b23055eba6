import { SelectableValue } from '@grafana/data';
import { InlineField, InlineSwitch, RadioButtonGroup, Select, Stack } from '@grafana/ui';
import React from 'react';

import { RetentionQuery } from '../../types';
import { EventPicker } from '../EventPicker';
import { NumberInput } from '../NumberInput';
import { BreakdownField, KindProps, LABEL_WIDTH, PERIOD_OPTIONS } from './common';

const TYPE_OPTIONS: Array<SelectableValue<RetentionQuery['retentionType']>> = [
  {
    label: 'First time',
    value: 'retention_first_time',
    description: "A user's cohort is the period of their first target event",
  },
  {
    label: 'Recurring',
    value: 'retention_recurring',
    description: 'A user joins the cohort of every period with a target event',
  },
];

const REFERENCE_OPTIONS: Array<SelectableValue<RetentionQuery['retentionReference']>> = [
  { label: 'Cohort size', value: 'total' },
  { label: 'Previous interval', value: 'previous' },
];

/** RetentionEditor edits a PostHog-style retention table. */
export function RetentionEditor({ query, datasource, onChange }: KindProps<'retention'>) {
  return (
    <Stack direction="column" gap={0}>
      <Stack gap={0} wrap="wrap">
        <InlineField label="Period" labelWidth={LABEL_WIDTH}>
          <RadioButtonGroup
            aria-label="Period"
            options={PERIOD_OPTIONS}
            value={query.period}
            onChange={(period) => onChange({ ...query, period })}
          />
        </InlineField>
        <InlineField label="Intervals" labelWidth={12} tooltip="Intervals per cohort, interval 0 included (1 to 366)">
          <NumberInput
            id="retention-intervals"
            value={query.totalIntervals}
            min={1}
            max={366}
            integer
            onCommit={(totalIntervals) => onChange({ ...query, totalIntervals })}
          />
        </InlineField>
      </Stack>
      <EventPicker
        id="retention-target"
        label="Target event"
        tooltip="The event that puts a user in a cohort"
        datasource={datasource}
        value={query.targetEntity}
        onChange={(targetEntity) => targetEntity && onChange({ ...query, targetEntity })}
      />
      <EventPicker
        id="retention-returning"
        label="Returning event"
        tooltip="The event that counts as coming back"
        datasource={datasource}
        value={query.returningEntity}
        onChange={(returningEntity) => returningEntity && onChange({ ...query, returningEntity })}
      />
      <Stack gap={0} wrap="wrap">
        <InlineField label="Retention type" labelWidth={LABEL_WIDTH}>
          <Select
            inputId="retention-type"
            aria-label="Retention type"
            width={26}
            options={TYPE_OPTIONS}
            value={query.retentionType}
            onChange={(v) => v.value && onChange({ ...query, retentionType: v.value })}
          />
        </InlineField>
        <InlineField label="Relative to" labelWidth={14}>
          <RadioButtonGroup
            aria-label="Relative to"
            options={REFERENCE_OPTIONS}
            value={query.retentionReference}
            onChange={(retentionReference) => onChange({ ...query, retentionReference })}
          />
        </InlineField>
        <InlineField
          label="Cumulative"
          labelWidth={14}
          tooltip="Count in interval k the users who came back in k or later"
        >
          <InlineSwitch
            id="retention-cumulative"
            aria-label="Cumulative"
            value={query.cumulative}
            onChange={(e) => onChange({ ...query, cumulative: e.currentTarget.checked })}
          />
        </InlineField>
      </Stack>
      <BreakdownField
        id="retention-breakdown"
        value={query.breakdown}
        onChange={(breakdown) => onChange({ ...query, breakdown })}
      />
    </Stack>
  );
}
