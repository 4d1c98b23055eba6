import { InlineField, Select, Stack } from '@grafana/ui';
import React from 'react';

import { MAX_PREDICTIONS_LIMIT, PREDICTION_MODELS } from '../../types';
import { NumberInput } from '../NumberInput';
import { selected, useOptions, variableOptions } from '../useOptions';
import { KindProps, LABEL_WIDTH } from './common';

/** PredictionsEditor edits the list of individuals at risk: model, horizon, threshold and length. */
export function PredictionsEditor({ query, datasource, onChange }: KindProps<'predictions'>) {
  const models = useOptions<string>(datasource, 'models', PREDICTION_MODELS);
  const options = [...models.options, ...variableOptions()];
  return (
    <Stack gap={0} wrap="wrap">
      <InlineField label="Model" labelWidth={LABEL_WIDTH} error={models.error} invalid={Boolean(models.error)}>
        <Select
          inputId="predictions-model"
          aria-label="Model"
          width={22}
          options={options}
          value={selected(query.model, options)}
          isLoading={models.loading}
          allowCustomValue
          onChange={(v) => v?.value && onChange({ ...query, model: v.value })}
        />
      </InlineField>
      <InlineField label="Horizon (days)" labelWidth={16} tooltip="Appointments or users due within this many days">
        <NumberInput
          id="predictions-horizon"
          value={query.horizon}
          min={1}
          max={90}
          integer
          onCommit={(horizon) => onChange({ ...query, horizon })}
        />
      </InlineField>
      <InlineField label="Threshold" labelWidth={12} tooltip="Smallest risk listed, 0 to 1">
        <NumberInput
          id="predictions-threshold"
          value={query.threshold}
          min={0}
          max={1}
          step={0.05}
          onCommit={(threshold) => onChange({ ...query, threshold })}
        />
      </InlineField>
      <InlineField label="Limit" labelWidth={10} tooltip={`Rows at most, 1 to ${MAX_PREDICTIONS_LIMIT}`}>
        <NumberInput
          id="predictions-limit"
          value={query.limit}
          min={1}
          max={MAX_PREDICTIONS_LIMIT}
          integer
          onCommit={(limit) => onChange({ ...query, limit })}
        />
      </InlineField>
    </Stack>
  );
}
