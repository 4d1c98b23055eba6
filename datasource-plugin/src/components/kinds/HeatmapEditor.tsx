import { InlineField, InlineSwitch, Stack } from '@grafana/ui';
import React from 'react';

import { EventPicker } from '../EventPicker';
import { KindProps, LABEL_WIDTH } from './common';

/** HeatmapEditor edits the activity heatmap: events by hour and weekday. */
export function HeatmapEditor({ query, datasource, onChange }: KindProps<'activity_heatmap'>) {
  const isActivity = typeof query.event === 'object' ? query.event.kind === 'activity' : true;
  return (
    <Stack direction="column" gap={0}>
      <EventPicker
        id="heatmap-event"
        label="Event"
        datasource={datasource}
        value={query.event}
        onChange={(event) =>
          event &&
          onChange({
            ...query,
            event,
            byActivityType: query.byActivityType && (typeof event !== 'object' || event.kind === 'activity'),
          })
        }
      />
      {isActivity && (
        <InlineField
          label="By activity type"
          labelWidth={LABEL_WIDTH}
          tooltip="A series per activity type besides the total"
        >
          <InlineSwitch
            id="heatmap-by-type"
            aria-label="By activity type"
            value={query.byActivityType}
            onChange={(e) => onChange({ ...query, byActivityType: e.currentTarget.checked })}
          />
        </InlineField>
      )}
    </Stack>
  );
}
