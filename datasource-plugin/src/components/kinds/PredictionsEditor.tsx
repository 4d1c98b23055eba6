import { InlineField, Stack } from '@grafana/ui';
import React from 'react';

import { MAX_PREDICTIONS_HORIZON, MAX_PREDICTIONS_LIMIT, PREDICTION_MODELS, PredictionsQuery } from '../../types';
import { NumberInput } from '../NumberInput';
import { KindProps } from './common';
import { ModelField } from './ModelField';

/** DEFAULT_HORIZON is the no-show horizon a query gets when it switches to that model. */
const DEFAULT_HORIZON = 7;

/**
 * PredictionsEditor edits the list of individuals at risk: the model (the scoring ones of
 * resources/models), the horizon of upcoming appointments (no-show only: churn's horizon is the
 * model's own 30 days), the threshold and the length.
 */
export function PredictionsEditor({ query, datasource, onChange }: KindProps<'predictions'>) {
  const onModel = (model: string) => {
    const { horizon, ...rest } = query;
    const next: PredictionsQuery = { ...rest, model };
    if (model !== 'churn') {
      next.horizon = horizon ?? DEFAULT_HORIZON;
    }
    onChange(next);
  };
  return (
    <Stack gap={0} wrap="wrap">
      <ModelField
        id="predictions-model"
        datasource={datasource}
        value={query.model}
        models={PREDICTION_MODELS}
        onChange={onModel}
      />
      {query.model !== 'churn' && (
        <InlineField label="Horizon (days)" labelWidth={16} tooltip="Appointments scheduled within this many days">
          <NumberInput
            id="predictions-horizon"
            value={query.horizon}
            min={1}
            max={MAX_PREDICTIONS_HORIZON}
            integer
            placeholder={String(DEFAULT_HORIZON)}
            onCommit={(horizon) => onChange({ ...query, horizon })}
          />
        </InlineField>
      )}
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
