import { SelectableValue } from '@grafana/data';
import { Button, IconButton, InlineField, RadioButtonGroup, Select, Stack } from '@grafana/ui';
import React from 'react';

import { EventRef, FunnelOrder, WindowUnit } from '../../types';
import { EventPicker } from '../EventPicker';
import { NumberInput } from '../NumberInput';
import { BreakdownField, KindProps, LABEL_WIDTH } from './common';

/** Bounds of a funnel's steps (pkg/analytics). */
export const MIN_STEPS = 2;
export const MAX_STEPS = 20;

const UNIT_OPTIONS: Array<SelectableValue<WindowUnit>> = [
  { label: 'Minutes', value: 'minute' },
  { label: 'Hours', value: 'hour' },
  { label: 'Days', value: 'day' },
  { label: 'Weeks', value: 'week' },
];

const ORDER_OPTIONS: Array<SelectableValue<FunnelOrder>> = [
  { label: 'Ordered', value: 'ordered', description: 'Steps in order, other events allowed between them' },
  { label: 'Strict', value: 'strict', description: 'Steps in order, no other step event between them' },
  { label: 'Any order', value: 'unordered', description: 'Steps in any order within the window' },
];

/** FunnelEditor edits a conversion funnel: its ordered steps, window, order and breakdown. */
export function FunnelEditor({ query, datasource, onChange }: KindProps<'funnel'>) {
  const steps = query.series ?? [];
  const setStep = (i: number, e: EventRef) => onChange({ ...query, series: steps.map((s, j) => (j === i ? e : s)) });
  const removeStep = (i: number) => onChange({ ...query, series: steps.filter((_, j) => j !== i) });
  const addStep = () => onChange({ ...query, series: [...steps, { kind: 'activity' }] });

  return (
    <Stack direction="column" gap={0}>
      {steps.map((step, i) => (
        <Stack key={i} gap={0} alignItems="flex-start">
          <EventPicker
            id={`funnel-step-${i + 1}`}
            label={`Step ${i + 1}`}
            datasource={datasource}
            value={step}
            onChange={(e) => e && setStep(i, e)}
          />
          <IconButton
            name="trash-alt"
            aria-label={`Remove step ${i + 1}`}
            tooltip={`Remove step ${i + 1}`}
            disabled={steps.length <= MIN_STEPS}
            onClick={() => removeStep(i)}
          />
        </Stack>
      ))}
      <div>
        <Button variant="secondary" size="sm" icon="plus" disabled={steps.length >= MAX_STEPS} onClick={addStep}>
          Add step
        </Button>
      </div>
      <Stack gap={0} wrap="wrap">
        <InlineField
          label="Conversion window"
          labelWidth={LABEL_WIDTH}
          tooltip="Every step within this time of the first"
        >
          <NumberInput
            id="funnel-window"
            value={query.funnelWindowInterval}
            min={1}
            max={527040}
            integer
            onCommit={(funnelWindowInterval) => onChange({ ...query, funnelWindowInterval })}
          />
        </InlineField>
        <Select
          inputId="funnel-window-unit"
          aria-label="Conversion window unit"
          width={14}
          options={UNIT_OPTIONS}
          value={query.funnelWindowIntervalUnit}
          onChange={(v) => v.value && onChange({ ...query, funnelWindowIntervalUnit: v.value })}
        />
      </Stack>
      <InlineField label="Step order" labelWidth={LABEL_WIDTH}>
        <RadioButtonGroup
          aria-label="Step order"
          options={ORDER_OPTIONS}
          value={query.funnelOrderType}
          onChange={(funnelOrderType) => onChange({ ...query, funnelOrderType })}
        />
      </InlineField>
      <BreakdownField
        id="funnel-breakdown"
        value={query.breakdown}
        onChange={(breakdown) => onChange({ ...query, breakdown })}
      />
    </Stack>
  );
}
