import { InlineField, Stack } from '@grafana/ui';
import React from 'react';

import { ModelPerformanceQuery, PERFORMANCE_MODELS } from '../../types';
import { NumberInput } from '../NumberInput';
import { KindProps } from './common';
import { ModelField } from './ModelField';

type OptionalNumber = 'version' | 'recentDays';

/**
 * ModelPerformanceEditor picks the model whose versions and metrics to show, and which version's
 * reliability is measured on how many recent days.
 */
export function ModelPerformanceEditor({ query, datasource, onChange }: KindProps<'model_performance'>) {
  const set = (key: OptionalNumber, value: number | undefined) => {
    const next: ModelPerformanceQuery = { ...query };
    if (value === undefined) {
      delete next[key];
    } else {
      next[key] = value;
    }
    onChange(next);
  };
  return (
    <Stack gap={0} wrap="wrap">
      <ModelField
        id="model-performance-model"
        datasource={datasource}
        value={query.model}
        models={PERFORMANCE_MODELS}
        onChange={(model) => onChange({ ...query, model })}
      />
      <InlineField
        label="Version"
        labelWidth={10}
        tooltip="Version whose reliability is drawn; empty for the promoted one"
      >
        <NumberInput
          id="model-performance-version"
          value={query.version}
          min={1}
          max={2147483647}
          integer
          placeholder="promoted"
          onCommit={(v) => set('version', v)}
          onClear={() => set('version', undefined)}
        />
      </InlineField>
      <InlineField
        label="Recent days"
        labelWidth={14}
        tooltip="The reliability is measured on the rows labelled in these days before the range's end, 1 to 365"
      >
        <NumberInput
          id="model-performance-recent"
          value={query.recentDays}
          min={1}
          max={365}
          integer
          placeholder="28"
          onCommit={(v) => set('recentDays', v)}
          onClear={() => set('recentDays', undefined)}
        />
      </InlineField>
    </Stack>
  );
}
