import { InlineField, Select } from '@grafana/ui';
import React from 'react';

import type { DataSource } from '../../datasource';
import { selected, useOptions, variableOptions } from '../useOptions';
import { LABEL_WIDTH } from './common';

interface Props {
  id: string;
  datasource: DataSource;
  value: string;
  /** models are the ones offered: the fallback list, and the only ones kept of resources/models. */
  models: string[];
  onChange: (model: string) => void;
}

/**
 * ModelField picks a model of the registry from resources/models (labelled with its promoted
 * version), a dashboard variable or a typed name.
 */
export function ModelField({ id, datasource, value, models, onChange }: Props) {
  const loaded = useOptions<string>(datasource, 'models', models);
  const options = [
    ...loaded.options.filter((o) => o.value !== undefined && models.includes(o.value)),
    ...variableOptions(),
  ];
  return (
    <InlineField label="Model" labelWidth={LABEL_WIDTH} error={loaded.error} invalid={Boolean(loaded.error)}>
      <Select
        inputId={id}
        aria-label="Model"
        width={36}
        options={options}
        value={selected(value, options)}
        isLoading={loaded.loading}
        allowCustomValue
        onChange={(v) => v?.value && onChange(v.value)}
      />
    </InlineField>
  );
}
