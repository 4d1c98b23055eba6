import { SelectableValue } from '@grafana/data';
import { InlineField, MultiSelect, RadioButtonGroup, Stack } from '@grafana/ui';
import React from 'react';

import { selectedAll, useOptions, variableOptions } from '../useOptions';
import { KindProps, LABEL_WIDTH, PERIOD_OPTIONS } from './common';

/** FeatureUsageEditor edits feature usage: adoption, frequency and whether users of a feature come back. */
export function FeatureUsageEditor({ query, datasource, onChange }: KindProps<'feature_usage'>) {
  const features = useOptions<string>(datasource, 'features');
  const options = [...features.options, ...variableOptions()];
  const onFeatures = (items: Array<SelectableValue<string>>) => {
    const picked = items.map((i) => i.value).filter((v): v is string => Boolean(v));
    const { features: _, ...rest } = query;
    onChange(picked.length > 0 ? { ...rest, features: picked } : rest);
  };
  return (
    <Stack direction="column" gap={0}>
      <InlineField
        label="Features"
        labelWidth={LABEL_WIDTH}
        tooltip="In this order; empty for every feature used, most adopters first"
        error={features.error}
        invalid={Boolean(features.error)}
      >
        <MultiSelect
          inputId="feature-usage-features"
          aria-label="Features"
          width={40}
          options={options}
          value={selectedAll(query.features, options)}
          isLoading={features.loading}
          allowCustomValue
          placeholder="All features"
          onChange={onFeatures}
        />
      </InlineField>
      <InlineField label="Period" labelWidth={LABEL_WIDTH} tooltip="Period of the retention comparison">
        <RadioButtonGroup
          aria-label="Period"
          options={PERIOD_OPTIONS}
          value={query.period}
          onChange={(period) => onChange({ ...query, period })}
        />
      </InlineField>
    </Stack>
  );
}
