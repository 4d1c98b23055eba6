import { SelectableValue } from '@grafana/data';
import { InlineField, InlineSwitch, RadioButtonGroup, Stack } from '@grafana/ui';
import React from 'react';

import { SegmentMethod, SegmentsQuery } from '../../types';
import { NumberInput } from '../NumberInput';
import { KindProps, LABEL_WIDTH } from './common';

const METHODS: Array<SelectableValue<SegmentMethod>> = [
  { label: 'RFM', value: 'rfm', description: 'Recency, frequency and monetary quintiles' },
  { label: 'k-means', value: 'kmeans', description: 'Clusters of behaviour' },
];

type OptionalNumber = 'k' | 'kMin' | 'kMax' | 'nInit' | 'seed';

/** SegmentsEditor edits the segmentation of beneficiaries: RFM, or k-means with a set or chosen k. */
export function SegmentsEditor({ query, onChange }: KindProps<'segments'>) {
  const set = (key: OptionalNumber, value: number | undefined) => {
    const next: SegmentsQuery = { ...query };
    if (value === undefined) {
      delete next[key];
    } else {
      next[key] = value;
    }
    onChange(next);
  };
  const kmeans = query.method === 'kmeans';
  return (
    <Stack direction="column" gap={0}>
      <Stack gap={0} wrap="wrap">
        <InlineField label="Method" labelWidth={LABEL_WIDTH}>
          <RadioButtonGroup
            aria-label="Method"
            options={METHODS}
            value={query.method}
            onChange={(method) => onChange({ ...query, method })}
          />
        </InlineField>
        <InlineField label="Members" labelWidth={12} tooltip="List every beneficiary (by user id) with its segment">
          <InlineSwitch
            id="segments-members"
            aria-label="Members"
            value={Boolean(query.includeMembers)}
            onChange={(e) => {
              const { includeMembers: _, ...rest } = query;
              onChange(e.currentTarget.checked ? { ...rest, includeMembers: true } : rest);
            }}
          />
        </InlineField>
      </Stack>
      {kmeans && (
        <Stack gap={0} wrap="wrap">
          <InlineField label="Clusters (k)" labelWidth={LABEL_WIDTH} tooltip="2 to 20; empty to choose k by silhouette">
            <NumberInput
              id="segments-k"
              value={query.k}
              min={2}
              max={20}
              integer
              placeholder="auto"
              onCommit={(k) => set('k', k)}
              onClear={() => set('k', undefined)}
            />
          </InlineField>
          {query.k === undefined && (
            <>
              <InlineField label="k from" labelWidth={10}>
                <NumberInput
                  id="segments-k-min"
                  value={query.kMin}
                  min={2}
                  max={20}
                  integer
                  placeholder="2"
                  onCommit={(v) => set('kMin', v)}
                  onClear={() => set('kMin', undefined)}
                />
              </InlineField>
              <InlineField label="to" labelWidth={6}>
                <NumberInput
                  id="segments-k-max"
                  value={query.kMax}
                  min={2}
                  max={20}
                  integer
                  placeholder="8"
                  onCommit={(v) => set('kMax', v)}
                  onClear={() => set('kMax', undefined)}
                />
              </InlineField>
            </>
          )}
          <InlineField label="Runs" labelWidth={8} tooltip="k-means++ runs per k, the best kept (1 to 20)">
            <NumberInput
              id="segments-n-init"
              value={query.nInit}
              min={1}
              max={20}
              integer
              placeholder="4"
              onCommit={(v) => set('nInit', v)}
              onClear={() => set('nInit', undefined)}
            />
          </InlineField>
          <InlineField label="Seed" labelWidth={8} tooltip="Makes the clusters the same from one run to the next">
            <NumberInput
              id="segments-seed"
              value={query.seed}
              min={0}
              max={Number.MAX_SAFE_INTEGER}
              integer
              width={14}
              onCommit={(v) => set('seed', v)}
              onClear={() => set('seed', undefined)}
            />
          </InlineField>
        </Stack>
      )}
    </Stack>
  );
}
