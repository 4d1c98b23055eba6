import { InlineField, InlineSwitch, Stack } from '@grafana/ui';
import React from 'react';

import { NumberInput } from '../NumberInput';
import { BreakdownField, KindProps, LABEL_WIDTH } from './common';

/** EngagementEditor edits the engagement score distribution and its top and bottom lists. */
export function EngagementEditor({ query, onChange }: KindProps<'engagement'>) {
  return (
    <Stack direction="column" gap={0}>
      <Stack gap={0} wrap="wrap">
        <InlineField
          label="Top and bottom"
          labelWidth={LABEL_WIDTH}
          tooltip="Length of the most and least engaged lists, 0 to 100 (0 leaves them out)"
        >
          <NumberInput
            id="engagement-limit"
            value={query.limit}
            min={0}
            max={100}
            integer
            onCommit={(limit) => onChange({ ...query, limit })}
          />
        </InlineField>
        <InlineField label="Every score" labelWidth={14} tooltip="List every beneficiary's score, by user id">
          <InlineSwitch
            id="engagement-scores"
            aria-label="Every score"
            value={Boolean(query.includeScores)}
            onChange={(e) => {
              const { includeScores: _, ...rest } = query;
              onChange(e.currentTarget.checked ? { ...rest, includeScores: true } : rest);
            }}
          />
        </InlineField>
      </Stack>
      <BreakdownField
        id="engagement-breakdown"
        value={query.breakdown}
        onChange={(breakdown) => onChange({ ...query, breakdown })}
      />
    </Stack>
  );
}
