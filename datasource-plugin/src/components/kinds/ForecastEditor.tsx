import { SelectableValue } from '@grafana/data';
import { InlineField, InlineSwitch, MultiSelect, RadioButtonGroup, Select, Stack } from '@grafana/ui';
import React from 'react';

import { FORECAST_SERIES, ForecastMethod, ForecastQuery, MAX_FORECAST_LEVELS } from '../../types';
import { NumberInput } from '../NumberInput';
import { fromValues, selected, selectedAll, variableOptions } from '../useOptions';
import { KindProps, LABEL_WIDTH } from './common';

const LEVELS = [50, 80, 90, 95, 99];

const METHODS: Array<SelectableValue<ForecastMethod>> = [
  { label: 'Auto (ETS)', value: 'auto', description: 'Exponential smoothing, the model chosen by AICc' },
  { label: 'Theta', value: 'theta', description: 'The Theta method' },
  { label: 'Seasonal naive', value: 'snaive', description: 'Last week again' },
];

/**
 * ForecastEditor edits a forecast: the series, the horizon, the prediction interval levels, and
 * optionally the method, the history fitted and a backtest. A forecast covers the whole
 * platform: it has no filters.
 */
export function ForecastEditor({ query, onChange }: KindProps<'forecast'>) {
  const seriesOptions = [...fromValues<string>(FORECAST_SERIES), ...variableOptions()];
  const levelOptions = fromValues<number>(LEVELS);
  const onLevels = (items: Array<SelectableValue<number>>) => {
    const levels = items
      .map((i) => Number(i.value))
      .filter((v) => Number.isFinite(v) && v > 0 && v < 100)
      .sort((a, b) => a - b);
    onChange({ ...query, levels: Array.from(new Set(levels)).slice(0, MAX_FORECAST_LEVELS) });
  };
  const optional = <K extends 'historyDays' | 'method' | 'backtest'>(key: K, value: ForecastQuery[K] | undefined) => {
    const next: ForecastQuery = { ...query };
    if (value === undefined) {
      delete next[key];
    } else {
      next[key] = value;
    }
    onChange(next);
  };
  return (
    <Stack direction="column" gap={0}>
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
          tooltip={`Prediction intervals: lower_L and upper_L for each level L, at most ${MAX_FORECAST_LEVELS}`}
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
      <Stack gap={0} wrap="wrap">
        <InlineField label="Method" labelWidth={LABEL_WIDTH}>
          <RadioButtonGroup<ForecastMethod>
            aria-label="Method"
            options={METHODS}
            value={query.method ?? 'auto'}
            onChange={(method) => optional('method', method === 'auto' ? undefined : method)}
          />
        </InlineField>
        <InlineField label="History (days)" labelWidth={16} tooltip="Days of history fitted, 28 to 1096; empty for 365">
          <NumberInput
            id="forecast-history"
            value={query.historyDays}
            min={28}
            max={1096}
            integer
            placeholder="365"
            onCommit={(v) => optional('historyDays', v)}
            onClear={() => optional('historyDays', undefined)}
          />
        </InlineField>
        <InlineField
          label="Backtest"
          labelWidth={12}
          tooltip="Score the method on 8 weekly origins against seasonal naive first (query inspector); slower"
        >
          <InlineSwitch
            id="forecast-backtest"
            aria-label="Backtest"
            value={Boolean(query.backtest)}
            onChange={(e) => optional('backtest', e.currentTarget.checked ? true : undefined)}
          />
        </InlineField>
      </Stack>
    </Stack>
  );
}
