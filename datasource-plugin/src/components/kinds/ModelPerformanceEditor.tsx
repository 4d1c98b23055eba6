import { InlineField, Select } from '@grafana/ui';
import React from 'react';

import { PERFORMANCE_MODELS } from '../../types';
import { selected, useOptions, variableOptions } from '../useOptions';
import { KindProps, LABEL_WIDTH } from './common';

/** ModelPerformanceEditor picks the model whose versions and metrics to show. */
export function ModelPerformanceEditor({ query, datasource, onChange }: KindProps<'model_performance'>) {
  const models = useOptions<string>(datasource, 'models', PERFORMANCE_MODELS);
  const options = [...models.options, ...variableOptions()];
  return (
    <InlineField label="Model" labelWidth={LABEL_WIDTH} error={models.error} invalid={Boolean(models.error)}>
      <Select
        inputId="model-performance-model"
        aria-label="Model"
        width={22}
        options={options}
        value={selected(query.model, options)}
        isLoading={models.loading}
        allowCustomValue
        onChange={(v) => v?.value && onChange({ ...query, model: v.value })}
      />
    </InlineField>
  );
}
