import { SelectableValue } from '@grafana/data';
import { InlineField, InlineSwitch, Select, Stack } from '@grafana/ui';
import React, { useEffect, useState } from 'react';

import { KpiInfo, LIVE_METRICS } from '../../types';
import { errorMessage, selected, variableOptions } from '../useOptions';
import { KindProps, LABEL_WIDTH } from './common';

/** KpiEditor picks a KPI of the catalogue and, for a real-time KPI, whether to stream it live. */
export function KpiEditor({ query, datasource, onChange }: KindProps<'kpi'>) {
  const [kpis, setKpis] = useState<KpiInfo[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string>();
  useEffect(() => {
    let live = true;
    datasource.kpis().then(
      (k) => live && (setKpis(k), setLoading(false)),
      (err: unknown) => live && (setError(`Couldn't load the KPIs: ${errorMessage(err)}`), setLoading(false))
    );
    return () => {
      live = false;
    };
  }, [datasource]);

  const options: Array<SelectableValue<string>> = [
    ...kpis.map((k) => ({ label: k.name, value: k.name, description: k.help })),
    ...variableOptions(),
  ];
  const liveMetric = LIVE_METRICS[query.kpi];

  return (
    <Stack gap={0} wrap="wrap">
      <InlineField label="KPI" labelWidth={LABEL_WIDTH} error={error} invalid={Boolean(error)}>
        <Select
          inputId="kpi-name"
          aria-label="KPI"
          width={40}
          options={options}
          value={selected(query.kpi, options)}
          isLoading={loading}
          allowCustomValue
          placeholder="Choose a KPI"
          onChange={(v) => {
            const kpi = v?.value ?? '';
            // live only applies to real-time KPIs: drop it when the KPI has no channel.
            const { live, ...rest } = query;
            onChange(LIVE_METRICS[kpi] && live ? { ...rest, kpi, live } : { ...rest, kpi });
          }}
        />
      </InlineField>
      {liveMetric && (
        <InlineField
          label="Live"
          labelWidth={10}
          tooltip={`Stream ${query.kpi} every few seconds from the live channel live/${liveMetric} instead of its history; filters do not apply to live values`}
        >
          <InlineSwitch
            id="kpi-live"
            aria-label="Live"
            value={Boolean(query.live)}
            onChange={(e) => onChange({ ...query, live: e.currentTarget.checked })}
          />
        </InlineField>
      )}
    </Stack>
  );
}
