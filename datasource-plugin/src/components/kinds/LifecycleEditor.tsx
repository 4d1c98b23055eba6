import { InlineField, RadioButtonGroup, Stack } from '@grafana/ui';
import React from 'react';

import { EventPicker } from '../EventPicker';
import { KindProps, LABEL_WIDTH, PERIOD_OPTIONS } from './common';

/** LifecycleEditor edits the lifecycle: new, returning, resurrecting and dormant users per period. */
export function LifecycleEditor({ query, datasource, onChange }: KindProps<'lifecycle'>) {
  return (
    <Stack direction="column" gap={0}>
      <InlineField label="Interval" labelWidth={LABEL_WIDTH}>
        <RadioButtonGroup
          aria-label="Interval"
          options={PERIOD_OPTIONS}
          value={query.interval}
          onChange={(interval) => onChange({ ...query, interval })}
        />
      </InlineField>
      <EventPicker
        id="lifecycle-event"
        label="Event"
        tooltip="The event that makes a user active"
        datasource={datasource}
        value={query.event}
        onChange={(event) => event && onChange({ ...query, event })}
      />
    </Stack>
  );
}
