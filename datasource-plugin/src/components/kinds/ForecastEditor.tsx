import { SelectableValue } from '@grafana/data';
import { InlineField, MultiSelect, Select, Stack } from '@grafana/ui';
import React from 'react';

import { FORECAST_SERIES } from '../../types';
import { NumberInput } from '../NumberInput';
import { fromValues, selected, selectedAll, variableOptions } from '../useOptions';
import { KindProps, LABEL_WIDTH } from './common';

const LEVELS = [50, 80, 90, 95, 99];

/** ForecastEditor edits a forecast: the series, the horizon and the prediction interval levels. */
export function ForecastEditor({ query, onChange }: KindProps<'forecast'>) {
  const seriesOptions = [...fromValues<string>(FORECAST_SERIES), ...variableOptions()];
  const levelOptions = fromValues<number>(LEVELS);
  const onLevels = (items: Array<SelectableValue<number>>) => {
    const levels = items
      .map((i) => Number(i.value))
      .filter((v) => Number.isFinite(v) && v > 0 && v < 100)
      .sort((a, b) => a - b);
    onChange({ ...query, levels: Array.from(new Set(levels)) });
  };
  return (
    <Stack gap={0} wrap="wrap">
      <InlineField label="Series" labelWidth={LABEL_WIDTH}>
        <Select
          inputId="forecast-series"
          aria-label="Series"
          width={26}
          options={seriesOptions}
          value={selected(query.series, seriesOptions)}
          allowCustomValue
          onChange={(v) => v?.value && onChange({ ...query, series: v.value })}
        />
      </InlineField>
      <InlineField label="Horizon (days)" labelWidth={16}>
        <NumberInput
          id="forecast-horizon"
          value={query.horizon}
          min={1}
          max={365}
          integer
          onCommit={(horizon) => onChange({ ...query, horizon })}
        />
      </InlineField>
      <InlineField
        label="Interval levels (%)"
        labelWidth={20}
        tooltip="Prediction intervals: lower_L and upper_L for each level L"
      >
        <MultiSelect<number>
          inputId="forecast-levels"
          aria-label="Interval levels"
          width={24}
          options={levelOptions}
          value={selectedAll(query.levels, levelOptions)}
          allowCustomValue
          onChange={onLevels}
        />
      </InlineField>
    </Stack>
  );
}
