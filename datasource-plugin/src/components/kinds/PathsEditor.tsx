import { SelectableValue } from '@grafana/data';
import { InlineField, MultiSelect, RadioButtonGroup, Stack } from '@grafana/ui';
import React from 'react';

import { eventLabel } from '../../events';
import { EVENT_KINDS, EventKind, EventRef, PathGrouping, PathLabel, PathsQuery } from '../../types';
import { EventPicker } from '../EventPicker';
import { NumberInput } from '../NumberInput';
import { selectedAll, useOptions, variableOptions } from '../useOptions';
import { KindProps, LABEL_WIDTH } from './common';

const GROUPINGS: Array<SelectableValue<PathGrouping>> = [
  { label: 'Session', value: 'session', description: 'A path per session of activity' },
  { label: 'User', value: 'user', description: 'A path per user over the whole range' },
];

const LABELS: Array<SelectableValue<PathLabel>> = [
  { label: 'Activity type', value: 'activity_type' },
  { label: 'Type and feature', value: 'activity_type_feature' },
];

type OptionalNumber = 'minEdgeWeight' | 'maxEdgeWeight';

const NO_SESSIONS: PathGrouping[] = ['session'];

/** onlyActivity reports whether paths hold activity only, the one kind with sessions. */
function onlyActivity(kinds: EventKind[] | undefined): boolean {
  return !kinds || kinds.length === 0 || (kinds.length === 1 && kinds[0] === 'activity');
}

/**
 * PathsEditor edits the user paths drawn as a node graph: which events, where paths start and
 * end, what a path follows and how much of the graph is kept.
 */
export function PathsEditor({ query, datasource, onChange }: KindProps<'paths'>) {
  const kinds = useOptions<string>(datasource, 'event-kinds', EVENT_KINDS);
  const types = useOptions<string>(datasource, 'activity-types');
  const features = useOptions<string>(datasource, 'features');
  const excludeOptions: Array<SelectableValue<string>> = [
    ...types.options.map((o) => ({ label: `activity:${o.value}`, value: `activity:${o.value}` })),
    ...features.options.map((o) => ({ label: `feature:${o.value}`, value: `feature:${o.value}` })),
    ...variableOptions(),
  ];

  const setPoint = (key: 'startPoint' | 'endPoint', e: EventRef | undefined) => {
    const next: PathsQuery = { ...query };
    if (e === undefined) {
      delete next[key];
    } else {
      next[key] = e;
    }
    onChange(next);
  };

  const setWeight = (key: OptionalNumber, v: number | undefined) => {
    const next: PathsQuery = { ...query };
    if (v === undefined) {
      delete next[key];
    } else {
      next[key] = v;
    }
    onChange(next);
  };

  const onInclude = (items: Array<SelectableValue<string>>) => {
    const picked = items.map((i) => i.value).filter((v): v is EventKind => Boolean(v));
    const { includeEventTypes: _, ...rest } = query;
    const next: PathsQuery = picked.length > 0 ? { ...rest, includeEventTypes: picked } : rest;
    // Only activity has sessions: other kinds follow the user.
    onChange(onlyActivity(picked) ? next : { ...next, groupBy: 'user' });
  };

  const onExclude = (items: Array<SelectableValue<string>>) => {
    const picked = items.map((i) => i.value).filter((v): v is string => Boolean(v));
    const { excludeEvents: _, ...rest } = query;
    onChange(picked.length > 0 ? { ...rest, excludeEvents: picked } : rest);
  };

  return (
    <Stack direction="column" gap={0}>
      <InlineField label="Events" labelWidth={LABEL_WIDTH} tooltip="Kinds of events in paths; empty for activity only">
        <MultiSelect
          inputId="paths-include"
          aria-label="Events"
          width={50}
          options={kinds.options}
          value={selectedAll(query.includeEventTypes, kinds.options)}
          isLoading={kinds.loading}
          placeholder="activity"
          onChange={onInclude}
        />
      </InlineField>
      <EventPicker
        id="paths-start"
        label="Start point"
        tooltip="Only paths that start at this event; empty for paths from anywhere"
        datasource={datasource}
        value={query.startPoint}
        clearable
        onChange={(e) => setPoint('startPoint', e)}
      />
      <EventPicker
        id="paths-end"
        label="End point"
        tooltip="Only paths that end at this event; empty for paths to anywhere"
        datasource={datasource}
        value={query.endPoint}
        clearable
        onChange={(e) => setPoint('endPoint', e)}
      />
      <InlineField
        label="Exclude"
        labelWidth={LABEL_WIDTH}
        tooltip="Events left out of the paths (short form, at most 50)"
      >
        <MultiSelect
          inputId="paths-exclude"
          aria-label="Exclude"
          width={50}
          options={excludeOptions}
          value={selectedAll(query.excludeEvents?.map(eventLabel), excludeOptions)}
          allowCustomValue
          placeholder="None"
          onChange={onExclude}
        />
      </InlineField>
      <Stack gap={0} wrap="wrap">
        <InlineField label="Path per" labelWidth={LABEL_WIDTH}>
          <RadioButtonGroup
            aria-label="Path per"
            options={GROUPINGS}
            disabledOptions={onlyActivity(query.includeEventTypes) ? [] : NO_SESSIONS}
            value={query.groupBy}
            onChange={(groupBy) => onChange({ ...query, groupBy })}
          />
        </InlineField>
        <InlineField label="Node names" labelWidth={14}>
          <RadioButtonGroup
            aria-label="Node names"
            options={LABELS}
            value={query.nodeLabel}
            onChange={(nodeLabel) => onChange({ ...query, nodeLabel })}
          />
        </InlineField>
      </Stack>
      <Stack gap={0} wrap="wrap">
        <InlineField label="Steps" labelWidth={LABEL_WIDTH} tooltip="Steps of a path, 2 to 20">
          <NumberInput
            id="paths-steps"
            value={query.stepLimit}
            min={2}
            max={20}
            integer
            onCommit={(stepLimit) => onChange({ ...query, stepLimit })}
          />
        </InlineField>
        <InlineField label="Edges" labelWidth={10} tooltip="Most frequent transitions kept, 1 to 700">
          <NumberInput
            id="paths-edges"
            value={query.edgeLimit}
            min={1}
            max={700}
            integer
            onCommit={(edgeLimit) => onChange({ ...query, edgeLimit })}
          />
        </InlineField>
        <InlineField label="Journeys" labelWidth={12} tooltip="Most common journeys listed, 1 to 100">
          <NumberInput
            id="paths-journeys"
            value={query.journeyLimit}
            min={1}
            max={100}
            integer
            onCommit={(journeyLimit) => onChange({ ...query, journeyLimit })}
          />
        </InlineField>
        <InlineField label="Edge weight from" labelWidth={18} tooltip="Drop edges taken by fewer users or sessions">
          <NumberInput
            id="paths-min-weight"
            value={query.minEdgeWeight}
            min={1}
            max={Number.MAX_SAFE_INTEGER}
            integer
            placeholder="any"
            onCommit={(v) => setWeight('minEdgeWeight', v)}
            onClear={() => setWeight('minEdgeWeight', undefined)}
          />
        </InlineField>
        <InlineField label="to" labelWidth={6}>
          <NumberInput
            id="paths-max-weight"
            value={query.maxEdgeWeight}
            min={1}
            max={Number.MAX_SAFE_INTEGER}
            integer
            placeholder="any"
            onCommit={(v) => setWeight('maxEdgeWeight', v)}
            onClear={() => setWeight('maxEdgeWeight', undefined)}
          />
        </InlineField>
      </Stack>
    </Stack>
  );
}
