import { fireEvent, screen, waitFor } from '@testing-library/react';

import { click, enter, field, pick, removeLast, setup, setupWith } from '../editor-test-utils';
import { useTemplateVariables } from '../test-utils';
import { BdcQuery, DEFAULTS } from '../types';

// The editor tests are in two files, not one per editor: each file loads @grafana/ui again
// (seconds of CPU), and two files keep both of jest's workers busy.

// Many Select interactions per test on a busy 2-core machine.
jest.setTimeout(30000);

beforeEach(() => {
  useTemplateVariables({ region: ['Bretagne', 'Normandie'], event: 'signup' });
});

describe('QueryEditor', () => {
  it('switches the query type, writing the new kind with its defaults and keeping time zone and filters', async () => {
    const { onChange, onRunQuery, last } = await setup('kpi', { timezone: 'UTC', filters: { region: ['Bretagne'] } });
    await pick('Query type', 'Retention');
    expect(last()).toEqual({
      refId: 'A',
      queryType: 'retention',
      timezone: 'UTC',
      filters: { region: ['Bretagne'] },
      ...DEFAULTS.retention,
    });
    expect(onChange).toHaveBeenCalledTimes(1);
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it('fills a stored query that lacks fields, and a target without a type becomes a KPI', async () => {
    const { last } = await setupWith({ refId: 'A' } as BdcQuery);
    await waitFor(() => expect(screen.getByText('bdc_users_active')).toBeInTheDocument());
    await enter('Time zone', 'America/New_York');
    expect(last()).toEqual({ refId: 'A', queryType: 'kpi', kpi: 'bdc_users_active', timezone: 'America/New_York' });
    await enter('Time zone', '');
    expect(last()).toEqual({ refId: 'A', queryType: 'kpi', kpi: 'bdc_users_active' });
  });

  it('edits the filters from the resources, with typed values and dashboard variables', async () => {
    const { getResource, last } = await setup('retention');
    for (const label of ['Region', 'Acquisition channel', 'Gender', 'Age band', 'Trainer', 'Appointment channel']) {
      expect(field(label)).toBeInTheDocument();
    }
    await pick('Region', 'Île-de-France');
    await pick('Region', '$region');
    await pick('Trainer', 'Trainer 40');
    await pick('Age band', '65+');
    await pick('Appointment channel', 'video');
    expect(last().filters).toEqual({
      region: ['Île-de-France', '$region'],
      trainerId: [40],
      ageBand: ['65+'],
      appointmentChannel: ['video'],
    });
    for (const r of ['regions', 'channels', 'genders', 'trainers', 'appointment-channels']) {
      expect(getResource).toHaveBeenCalledWith(r);
    }
    await removeLast('Region', 2);
    await removeLast('Trainer');
    await removeLast('Age band');
    await removeLast('Appointment channel');
    expect(last()).not.toHaveProperty('filters');
  });

  describe('kpi', () => {
    it('lists the KPIs from resources/kpis and streams real-time ones live', async () => {
      const { getResource, last, onRunQuery } = await setup('kpi');
      expect(getResource).toHaveBeenCalledWith('kpis');
      expect(screen.queryByLabelText('Live')).not.toBeInTheDocument();
      await pick('KPI', 'bdc_users_online');
      expect(last()).toEqual({ refId: 'A', queryType: 'kpi', kpi: 'bdc_users_online' });
      await click('Live');
      expect(last()).toEqual({ refId: 'A', queryType: 'kpi', kpi: 'bdc_users_online', live: true });
      await pick('KPI', 'bdc_appointment_noshow_ratio');
      expect(last()).toEqual({ refId: 'A', queryType: 'kpi', kpi: 'bdc_appointment_noshow_ratio' });
      expect(screen.queryByLabelText('Live')).not.toBeInTheDocument();
      expect(onRunQuery).toHaveBeenCalledTimes(3);
    });
  });
});

describe('QueryEditor of retention', () => {
  it('edits every parameter of QUERIES.md', async () => {
    const { last } = await setup('retention');
    for (const label of ['Intervals', 'Target event', 'Returning event', 'Retention type', 'Cumulative', 'Breakdown']) {
      expect(field(label)).toBeInTheDocument();
    }
    await click('Month');
    await enter('Intervals', '12');
    await pick('Target event', 'appointment_booked');
    await pick('Returning event activity type', 'login');
    await pick('Retention type', 'Recurring');
    await click('Previous interval');
    await click('Cumulative');
    await pick('Breakdown', 'Acquisition channel');
    expect(last()).toEqual({
      refId: 'A',
      queryType: 'retention',
      period: 'month',
      totalIntervals: 12,
      targetEntity: { kind: 'appointment_booked' },
      returningEntity: { kind: 'activity', activityType: 'login' },
      retentionType: 'retention_recurring',
      retentionReference: 'previous',
      cumulative: true,
      breakdown: 'acquisition_channel',
    });
  });

  it('does not commit an interval count out of range, and keeps a variable as the short event form', async () => {
    const { last, onChange } = await setup('retention');
    await enter('Intervals', '0');
    await enter('Intervals', '400');
    expect(onChange).not.toHaveBeenCalled();
    await pick('Target event', '$event');
    expect(last()).toMatchObject({ targetEntity: '$event', totalIntervals: 8 });
  });
});

describe('QueryEditor of funnels', () => {
  it('edits ordered steps, the window, the order and the breakdown', async () => {
    const { last } = await setup('funnel');
    expect(field('Step 3')).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: /add step/i }));
    await pick('Step 4 feature', 'documents');
    fireEvent.click(screen.getByRole('button', { name: 'Remove step 1' }));
    await pick('Step 1', 'evaluation_started');
    await enter('Conversion window', '48');
    await pick('Conversion window unit', 'Hours');
    await click('Strict');
    await pick('Breakdown', 'Region');
    expect(last()).toEqual({
      refId: 'A',
      queryType: 'funnel',
      series: [
        { kind: 'evaluation_started' },
        { kind: 'appointment_completed' },
        { kind: 'activity', feature: 'documents' },
      ],
      funnelWindowInterval: 48,
      funnelWindowIntervalUnit: 'hour',
      funnelOrderType: 'strict',
      breakdown: 'region',
    });
  });

  it('keeps at least 2 steps', async () => {
    await setup('funnel', { series: ['signup', 'activity:login'] } as Partial<BdcQuery>);
    expect(screen.getByRole('button', { name: 'Remove step 1' })).toBeDisabled();
    expect(screen.getByRole('button', { name: /add step/i })).toBeEnabled();
  });

  it('keeps at most 20 steps', async () => {
    await setup('funnel', { series: Array.from({ length: 20 }, () => 'signup') } as Partial<BdcQuery>);
    expect(screen.getByRole('button', { name: /add step/i })).toBeDisabled();
  });
});
