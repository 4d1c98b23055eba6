import { SelectableValue } from '@grafana/data';
import { InlineField, Select, Stack } from '@grafana/ui';
import React from 'react';

import type { DataSource } from '../datasource';
import { parseEvent } from '../events';
import { EVENT_KINDS, EventObject, EventRef } from '../types';
import { selected, useOptions, variableOptions } from './useOptions';

interface Props {
  /** id prefixes the ids of the picker's inputs. */
  id: string;
  label: string;
  tooltip?: string;
  datasource: DataSource;
  value: EventRef | undefined;
  /** clearable pickers (an optional start or end point) emit undefined when cleared. */
  clearable?: boolean;
  onChange: (value: EventRef | undefined) => void;
}

/** asObject shows an event of either form as an object; undefined for a template variable. */
function asObject(value: EventRef | undefined): EventObject | undefined {
  if (value === undefined || typeof value === 'object') {
    return value;
  }
  return parseEvent(value);
}

/**
 * EventPicker picks an event: its kind (resources/event-kinds), and for an activity an optional
 * activity type (resources/activity-types) and feature (resources/features). A dashboard variable
 * in place of the kind is kept as the short string form, which the variable's value must be.
 */
export function EventPicker({ id, label, tooltip, datasource, value, clearable, onChange }: Props) {
  const kinds = useOptions<string>(datasource, 'event-kinds', EVENT_KINDS);
  const event = asObject(value);
  const isActivity = event?.kind === 'activity';
  const kindOptions = [...kinds.options, ...variableOptions()];
  const kindValue = selected(event?.kind ?? (typeof value === 'string' ? value : undefined), kindOptions);

  const onKind = (v: SelectableValue<string> | null) => {
    const kind = v?.value;
    if (!kind) {
      onChange(undefined);
      return;
    }
    onChange(parseEvent(kind) ?? kind);
  };

  const onActivityPart = (part: 'activityType' | 'feature', v: string | undefined) => {
    const next: EventObject = { kind: 'activity' };
    const activityType = part === 'activityType' ? v : event?.activityType;
    const feature = part === 'feature' ? v : event?.feature;
    if (activityType) {
      next.activityType = activityType;
    }
    if (feature) {
      next.feature = feature;
    }
    onChange(next);
  };

  return (
    <Stack gap={0} wrap="wrap">
      <InlineField label={label} labelWidth={20} tooltip={tooltip} error={kinds.error} invalid={Boolean(kinds.error)}>
        <Select
          inputId={`${id}-kind`}
          aria-label={label}
          width={26}
          options={kindOptions}
          value={kindValue}
          isLoading={kinds.loading}
          allowCustomValue
          isClearable={clearable}
          placeholder={clearable ? 'Any' : 'Choose an event'}
          onChange={onKind}
        />
      </InlineField>
      {isActivity && (
        <>
          <ActivityPart
            id={`${id}-activity-type`}
            label={`${label} activity type`}
            title="Activity type"
            datasource={datasource}
            resource="activity-types"
            value={event?.activityType}
            onChange={(v) => onActivityPart('activityType', v)}
          />
          <ActivityPart
            id={`${id}-feature`}
            label={`${label} feature`}
            title="Feature"
            datasource={datasource}
            resource="features"
            value={event?.feature}
            onChange={(v) => onActivityPart('feature', v)}
          />
        </>
      )}
    </Stack>
  );
}

interface PartProps {
  id: string;
  label: string;
  title: string;
  datasource: DataSource;
  resource: 'activity-types' | 'features';
  value: string | undefined;
  onChange: (value: string | undefined) => void;
}

function ActivityPart({ id, label, title, datasource, resource, value, onChange }: PartProps) {
  const opts = useOptions<string>(datasource, resource);
  const options = [...opts.options, ...variableOptions()];
  return (
    <InlineField label={title} labelWidth={14} error={opts.error} invalid={Boolean(opts.error)}>
      <Select
        inputId={id}
        aria-label={label}
        width={22}
        options={options}
        value={selected(value, options)}
        isLoading={opts.loading}
        allowCustomValue
        isClearable
        placeholder="Any"
        onChange={(v) => onChange(v?.value || undefined)}
      />
    </InlineField>
  );
}
