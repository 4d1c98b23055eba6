import { QueryEditorProps, SelectableValue } from '@grafana/data';
import { InlineField, Input, Select, Stack } from '@grafana/ui';
import React, { ComponentType, useState } from 'react';

import type { DataSource } from '../datasource';
import { BdcOptions, BdcQuery, DEFAULT_TIMEZONE, DEFAULTS, QUERY_TYPES, QueryOf, QueryType } from '../types';
import { FiltersRow } from './FiltersRow';
import { KindProps } from './kinds/common';
import { EngagementEditor } from './kinds/EngagementEditor';
import { FeatureUsageEditor } from './kinds/FeatureUsageEditor';
import { ForecastEditor } from './kinds/ForecastEditor';
import { FunnelEditor } from './kinds/FunnelEditor';
import { HeatmapEditor } from './kinds/HeatmapEditor';
import { KpiEditor } from './kinds/KpiEditor';
import { LifecycleEditor } from './kinds/LifecycleEditor';
import { ModelPerformanceEditor } from './kinds/ModelPerformanceEditor';
import { PathsEditor } from './kinds/PathsEditor';
import { PredictionsEditor } from './kinds/PredictionsEditor';
import { RetentionEditor } from './kinds/RetentionEditor';
import { SegmentsEditor } from './kinds/SegmentsEditor';
import { StickinessEditor } from './kinds/StickinessEditor';

type Props = QueryEditorProps<DataSource, BdcQuery, BdcOptions>;

/** KINDS describes each query type for the picker, and names its editor. */
const KINDS: { [T in QueryType]: { label: string; description: string; editor: ComponentType<KindProps<T>> } } = {
  kpi: { label: 'KPI', description: 'A KPI of the catalogue over the time range', editor: KpiEditor },
  retention: { label: 'Retention', description: 'Cohorts and how many come back', editor: RetentionEditor },
  funnel: { label: 'Funnel', description: 'Conversion through ordered steps', editor: FunnelEditor },
  paths: { label: 'Paths', description: 'Journeys between events, as a node graph', editor: PathsEditor },
  lifecycle: {
    label: 'Lifecycle',
    description: 'New, returning, resurrecting and dormant users',
    editor: LifecycleEditor,
  },
  stickiness: { label: 'Stickiness', description: 'DAU, WAU, MAU and days active', editor: StickinessEditor },
  engagement: {
    label: 'Engagement',
    description: 'Engagement scores, most and least engaged',
    editor: EngagementEditor,
  },
  segments: { label: 'Segments', description: 'RFM or k-means segments', editor: SegmentsEditor },
  feature_usage: { label: 'Feature usage', description: 'Use of each feature over time', editor: FeatureUsageEditor },
  activity_heatmap: { label: 'Activity heatmap', description: 'Events by hour and weekday', editor: HeatmapEditor },
  forecast: { label: 'Forecast', description: 'A series forecast with prediction intervals', editor: ForecastEditor },
  predictions: {
    label: 'Predictions',
    description: 'Individuals at risk and their main factors',
    editor: PredictionsEditor,
  },
  model_performance: {
    label: 'Model performance',
    description: 'Model versions and their metrics',
    editor: ModelPerformanceEditor,
  },
};

const TYPE_OPTIONS: Array<SelectableValue<QueryType>> = QUERY_TYPES.map((t) => ({
  label: KINDS[t].label,
  value: t,
  description: KINDS[t].description,
}));

/** WITHOUT_FILTERS are the kinds about models or the whole platform rather than a population. */
const WITHOUT_FILTERS = new Set<QueryType>(['forecast', 'model_performance']);

function isQueryType(t: unknown): t is QueryType {
  return (QUERY_TYPES as readonly unknown[]).includes(t);
}

/** normalize gives a stored query the fields its kind lacks (a query saved before a field existed, or a new one). */
export function normalize(query: Partial<BdcQuery> & { refId: string }): BdcQuery {
  const type = isQueryType(query.queryType) ? query.queryType : 'kpi';
  const set = Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined));
  return { ...DEFAULTS[type], ...set, queryType: type } as BdcQuery;
}

/** switchType is query as a new query of another kind: Grafana's fields, time zone and filters are kept. */
export function switchType(query: BdcQuery, type: QueryType): BdcQuery {
  const { refId, datasource, hide, key, timezone, filters } = query;
  const next: Record<string, unknown> = {
    refId,
    datasource,
    hide,
    key,
    timezone,
    filters,
    queryType: type,
    ...DEFAULTS[type],
  };
  for (const k of Object.keys(next)) {
    if (next[k] === undefined) {
      delete next[k];
    }
  }
  return next as unknown as BdcQuery;
}

/**
 * QueryEditor edits a panel target: the query type, that type's parameters, the time zone and the
 * filters. Every change saves the whole query JSON and runs it.
 */
export function QueryEditor({ query: stored, datasource, onChange, onRunQuery }: Props) {
  const query = normalize(stored);
  const change = (next: BdcQuery) => {
    onChange(next);
    onRunQuery();
  };
  const Editor = KINDS[query.queryType].editor as ComponentType<KindProps<QueryType>>;

  return (
    <Stack direction="column" gap={1}>
      <Stack gap={0} wrap="wrap">
        <InlineField label="Query type" labelWidth={20}>
          <Select<QueryType>
            inputId="query-type"
            aria-label="Query type"
            width={26}
            options={TYPE_OPTIONS}
            value={query.queryType}
            onChange={(v) => v.value && v.value !== query.queryType && change(switchType(query, v.value))}
          />
        </InlineField>
        <TimezoneField
          value={query.timezone}
          onCommit={(timezone) => {
            const { timezone: _, ...rest } = query;
            change(timezone ? { ...rest, timezone } : (rest as BdcQuery));
          }}
        />
      </Stack>
      <Editor query={query as QueryOf<QueryType>} datasource={datasource} onChange={change} />
      {!WITHOUT_FILTERS.has(query.queryType) && (
        <FiltersRow
          datasource={datasource}
          filters={query.filters}
          onChange={(filters) => {
            const { filters: _, ...rest } = query;
            change(filters ? { ...rest, filters } : (rest as BdcQuery));
          }}
        />
      )}
    </Stack>
  );
}

interface TimezoneProps {
  value: string | undefined;
  onCommit: (value: string) => void;
}

/** TimezoneField edits the IANA zone of days, weeks and months; empty is the platform's zone. */
function TimezoneField({ value, onCommit }: TimezoneProps) {
  const [text, setText] = useState(value ?? '');
  const [shown, setShown] = useState(value);
  if (value !== shown) {
    setShown(value);
    setText(value ?? '');
  }
  const commit = () => text.trim() !== (value ?? '') && onCommit(text.trim());
  return (
    <InlineField
      label="Time zone"
      labelWidth={12}
      tooltip="IANA zone of days, weeks and months; a dashboard variable works too"
    >
      <Input
        id="query-timezone"
        aria-label="Time zone"
        width={22}
        placeholder={DEFAULT_TIMEZONE}
        value={text}
        onChange={(e) => setText(e.currentTarget.value)}
        onBlur={commit}
        onKeyDown={(e) => e.key === 'Enter' && commit()}
      />
    </InlineField>
  );
}
