import { SelectableValue } from '@grafana/data';
import { InlineField, RadioButtonGroup, Stack } from '@grafana/ui';
import React from 'react';

import { StickinessQuery } from '../../types';
import { EventPicker } from '../EventPicker';
import { KindProps, LABEL_WIDTH } from './common';

const PERIODS: Array<SelectableValue<StickinessQuery['period']>> = [
  { label: 'Week', value: 'week' },
  { label: 'Month', value: 'month' },
];

/** StickinessEditor edits DAU/WAU/MAU and the days-active distribution. */
export function StickinessEditor({ query, datasource, onChange }: KindProps<'stickiness'>) {
  return (
    <Stack direction="column" gap={0}>
      <EventPicker
        id="stickiness-event"
        label="Event"
        tooltip="The event that makes a user active on a day"
        datasource={datasource}
        value={query.event}
        onChange={(event) => event && onChange({ ...query, event })}
      />
      <InlineField label="Period" labelWidth={LABEL_WIDTH} tooltip="Period of the days-active distribution">
        <RadioButtonGroup
          aria-label="Period"
          options={PERIODS}
          value={query.period}
          onChange={(period) => onChange({ ...query, period })}
        />
      </InlineField>
    </Stack>
  );
}
