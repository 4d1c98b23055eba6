import { DataSourceSettings } from '@grafana/data';
import { fireEvent, render, screen } from '@testing-library/react';
import React, { useState } from 'react';
import selectEvent from 'react-select-event';

import { click, enter, field, pick, removeLast, setup } from '../editor-test-utils';
import { makeDataSource, useTemplateVariables } from '../test-utils';
import { BdcOptions, BdcSecureJsonData, DEFAULTS } from '../types';
import { ConfigEditor } from './ConfigEditor';
import { VariableQueryEditor } from './VariableQueryEditor';

// The editors other than the QueryEditor's shared fields, KPI, retention and funnel (see
// QueryEditor.test.tsx for why the editor tests are in two files).

// Many Select interactions per test on a busy 2-core machine.
jest.setTimeout(30000);

beforeEach(() => {
  useTemplateVariables({ region: ['Bretagne', 'Normandie'], event: 'signup' });
});

describe('QueryEditor of user behaviour', () => {
  describe('paths', () => {
    it('edits every parameter of pkg/analytics.PathsQuery; cleared optional fields leave the JSON', async () => {
      const { last } = await setup('paths');
      await pick('Start point', 'signup');
      await pick('End point', 'appointment_completed');
      await pick('Exclude', 'activity:page_view');
      await click('Type and feature');
      await enter('Steps', '8');
      await enter('Edges', '100');
      await enter('Journeys', '20');
      await enter('Edge weight from', '3');
      expect(last()).toEqual({
        refId: 'A',
        queryType: 'paths',
        startPoint: { kind: 'signup' },
        endPoint: { kind: 'appointment_completed' },
        excludeEvents: ['activity:page_view'],
        stepLimit: 8,
        edgeLimit: 100,
        journeyLimit: 20,
        minEdgeWeight: 3,
        groupBy: 'session',
        nodeLabel: 'activity_type_feature',
      });
      await removeLast('End point');
      await enter('Edge weight from', '');
      expect(last()).not.toHaveProperty('endPoint');
      expect(last()).not.toHaveProperty('minEdgeWeight');
    });

    it('follows users, not sessions, once paths hold more than activity', async () => {
      const { last } = await setup('paths');
      await pick('Events', 'activity');
      expect(last()).toMatchObject({ includeEventTypes: ['activity'], groupBy: 'session' });
      await pick('Events', 'appointment_booked');
      expect(last()).toMatchObject({ includeEventTypes: ['activity', 'appointment_booked'], groupBy: 'user' });
      expect(field('Session')).toBeDisabled();
      await enter('Edges', '701');
      expect(last()).toMatchObject({ edgeLimit: 50 });
    });
  });

  describe('lifecycle', () => {
    it('edits the interval and the event', async () => {
      const { last } = await setup('lifecycle');
      await click('Day');
      await pick('Event', 'appointment_completed');
      expect(last()).toEqual({
        refId: 'A',
        queryType: 'lifecycle',
        interval: 'day',
        event: { kind: 'appointment_completed' },
      });
    });
  });

  describe('stickiness', () => {
    it('edits the event and the period', async () => {
      const { last } = await setup('stickiness');
      await pick('Event feature', 'calendar');
      await click('Month');
      expect(last()).toEqual({
        refId: 'A',
        queryType: 'stickiness',
        event: { kind: 'activity', feature: 'calendar' },
        period: 'month',
      });
    });
  });

  describe('engagement', () => {
    it('edits the list length, every score and the breakdown', async () => {
      const { last } = await setup('engagement');
      await enter('Top and bottom', '0');
      await click('Every score');
      await pick('Breakdown', 'Age band');
      expect(last()).toEqual({
        refId: 'A',
        queryType: 'engagement',
        limit: 0,
        includeScores: true,
        breakdown: 'age_band',
      });
    });
  });

  describe('segments', () => {
    it('edits RFM, and k-means with a set k or one chosen between bounds', async () => {
      const { last } = await setup('segments');
      expect(screen.queryByLabelText('Clusters (k)')).not.toBeInTheDocument();
      await click('Members');
      expect(last()).toEqual({ refId: 'A', queryType: 'segments', method: 'rfm', includeMembers: true });
      await click('k-means');
      await enter('k from', '3');
      await enter('to', '6');
      await enter('Seed', '42');
      expect(last()).toEqual({
        refId: 'A',
        queryType: 'segments',
        method: 'kmeans',
        includeMembers: true,
        kMin: 3,
        kMax: 6,
        seed: 42,
      });
      await enter('Clusters (k)', '5');
      expect(screen.queryByLabelText('k from')).not.toBeInTheDocument();
      await enter('Runs', '8');
      expect(last()).toMatchObject({ k: 5, nInit: 8 });
      await enter('Clusters (k)', '');
      expect(last()).not.toHaveProperty('k');
    });
  });

  describe('feature_usage', () => {
    it('edits the features from resources/features and the period', async () => {
      const { last, getResource } = await setup('feature_usage');
      await click('Month');
      await pick('Features', 'documents');
      await pick('Features', 'calendar');
      expect(getResource).toHaveBeenCalledWith('features');
      expect(last()).toEqual({
        refId: 'A',
        queryType: 'feature_usage',
        period: 'month',
        features: ['documents', 'calendar'],
      });
    });
  });

  describe('activity_heatmap', () => {
    it('edits the event and the split by activity type, which only activities have', async () => {
      const { last } = await setup('activity_heatmap');
      await click('By activity type');
      expect(last()).toEqual({
        refId: 'A',
        queryType: 'activity_heatmap',
        event: { kind: 'activity' },
        byActivityType: true,
      });
      await pick('Event', 'appointment_booked');
      expect(last()).toEqual({
        refId: 'A',
        queryType: 'activity_heatmap',
        event: { kind: 'appointment_booked' },
        byActivityType: false,
      });
      expect(screen.queryByLabelText('By activity type')).not.toBeInTheDocument();
    });
  });
});

describe('QueryEditor of forecasts and models', () => {
  describe('forecast', () => {
    it('edits the series, the horizon and the levels, without population filters', async () => {
      const { last } = await setup('forecast');
      expect(screen.queryByLabelText('Region')).not.toBeInTheDocument();
      await pick('Series', 'trainer_utilization');
      await enter('Horizon (days)', '56');
      await removeLast('Interval levels');
      await pick('Interval levels', '99');
      expect(last()).toEqual({
        refId: 'A',
        queryType: 'forecast',
        series: 'trainer_utilization',
        horizon: 56,
        levels: [80, 99],
      });
      await enter('Horizon (days)', '366');
      expect(last()).toMatchObject({ horizon: 56 });
    });

    it('edits the method, the history and the backtest, and leaves defaults out of the JSON', async () => {
      const { last } = await setup('forecast');
      await click('Theta');
      await enter('History (days)', '120');
      await click('Backtest');
      expect(last()).toEqual({
        refId: 'A',
        queryType: 'forecast',
        series: 'appointments',
        horizon: 28,
        levels: [80, 95],
        method: 'theta',
        historyDays: 120,
        backtest: true,
      });
      await click('Auto (ETS)');
      await enter('History (days)', '');
      await click('Backtest');
      expect(last()).toEqual({ refId: 'A', queryType: 'forecast', ...DEFAULTS.forecast });
      await enter('History (days)', '7');
      expect(last()).not.toHaveProperty('historyDays');
    });
  });

  describe('predictions', () => {
    it('offers the scoring models of resources/models and edits the horizon, the threshold and the limit', async () => {
      const { last, getResource, onChange } = await setup('predictions');
      expect(getResource).toHaveBeenCalledWith('models');
      await selectEvent.openMenu(field('Model'));
      expect(screen.queryByText(/evaluation_score/)).not.toBeInTheDocument();
      expect(screen.queryByText(/^engagement/)).not.toBeInTheDocument();
      await enter('Horizon (days)', '14');
      await enter('Threshold', '0.75');
      await enter('Limit', '5000');
      const calls = onChange.mock.calls.length;
      await enter('Threshold', '1.5');
      await enter('Horizon (days)', '91');
      expect(onChange.mock.calls.length).toBe(calls);
      await enter('Limit', '250');
      expect(last()).toEqual({
        refId: 'A',
        queryType: 'predictions',
        model: 'noshow',
        horizon: 14,
        threshold: 0.75,
        limit: 250,
      });
    });

    it("drops the horizon for churn, whose horizon is the model's own, and gives it back for no-shows", async () => {
      const { last } = await setup('predictions');
      await pick('Model', 'churn (version 2, trained 2026-06-01)');
      expect(last()).toEqual({ refId: 'A', queryType: 'predictions', model: 'churn', threshold: 0.5, limit: 100 });
      expect(screen.queryByLabelText('Horizon (days)')).not.toBeInTheDocument();
      await pick('Model', 'noshow (version 3, trained 2026-06-01)');
      expect(last()).toEqual({ refId: 'A', queryType: 'predictions', ...DEFAULTS.predictions });
    });
  });

  describe('model_performance', () => {
    it('edits the model, the version and the recent days, without population filters', async () => {
      const { last } = await setup('model_performance');
      expect(screen.queryByLabelText('Region')).not.toBeInTheDocument();
      await pick('Model', 'evaluation_score (not trained yet)');
      await enter('Version', '2');
      await enter('Recent days', '60');
      expect(last()).toEqual({
        refId: 'A',
        queryType: 'model_performance',
        model: 'evaluation_score',
        version: 2,
        recentDays: 60,
      });
      await enter('Version', '');
      await enter('Recent days', '400');
      expect(last()).toEqual({ refId: 'A', queryType: 'model_performance', model: 'evaluation_score', recentDays: 60 });
    });
  });
});

describe('VariableQueryEditor', () => {
  it('picks the resource a variable lists', async () => {
    const { ds } = makeDataSource();
    const onChange = jest.fn();
    render(
      <VariableQueryEditor
        query={{ refId: 'V', resource: 'regions' }}
        datasource={ds}
        onChange={onChange}
        onRunQuery={jest.fn()}
      />
    );
    await pick('Values of', 'Trainers');
    expect(onChange).toHaveBeenCalledWith({ refId: 'V', resource: 'trainers' });
  });
});

type Settings = DataSourceSettings<BdcOptions, BdcSecureJsonData>;

function settings(extra: Partial<Settings> = {}): Settings {
  // Grafana's full settings object, deprecated fields included.
  return {
    id: 7,
    uid: 'bdc-uid',
    orgId: 1,
    name: 'BDC Analytics',
    type: 'bdc-analytics-datasource',
    typeName: 'BDC Analytics',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    withCredentials: false,
    readOnly: false,
    jsonData: {},
    secureJsonFields: {},
    ...extra,
  };
}

/** setupConfig renders the ConfigEditor, keeping the settings in state as Grafana does. */
function setupConfig(initial: Settings = settings()) {
  const onOptionsChange = jest.fn();
  function Harness() {
    const [options, setOptions] = useState(initial);
    return (
      <ConfigEditor
        options={options}
        onOptionsChange={(o) => {
          setOptions(o);
          onOptionsChange(o);
        }}
      />
    );
  }
  render(<Harness />);
  const last = (): Settings => onOptionsChange.mock.calls[onOptionsChange.mock.calls.length - 1][0];
  return { onOptionsChange, last };
}

const type = (label: string | RegExp, value: string) =>
  fireEvent.change(screen.getByLabelText(label), { target: { value } });

describe('ConfigEditor', () => {
  it('stores the connection, TLS mode, cache and limits in jsonData', () => {
    const { last } = setupConfig();
    type(/^Host/, 'db.internal');
    type('Port', '6432');
    type(/^Database/, 'bdc');
    type(/^User/, 'bdc_grafana');
    fireEvent.click(screen.getByLabelText('verify-full'));
    type('Cache TTL (s)', '0');
    type('Max rows', '50000');
    type('Query timeout (s)', '10');
    expect(last().jsonData).toEqual({
      host: 'db.internal',
      port: 6432,
      database: 'bdc',
      user: 'bdc_grafana',
      sslmode: 'verify-full',
      cacheTTL: 0,
      maxRows: 50000,
      queryTimeout: 10,
    });
    type('Port', '');
    expect(last().jsonData).not.toHaveProperty('port');
  });

  it('stores the password in secureJsonData only', () => {
    const { last } = setupConfig(settings({ jsonData: { host: 'db' } }));
    type('Password', 's3cret; DROP TABLE x');
    const saved = last();
    expect(saved.secureJsonData).toEqual({ password: 's3cret; DROP TABLE x' });
    expect(JSON.stringify(saved.jsonData)).not.toContain('s3cret');
    expect(saved.jsonData).toEqual({ host: 'db' });
  });

  it('shows a stored password as configured and resets it', () => {
    const { last } = setupConfig(settings({ secureJsonFields: { password: true } }));
    expect(screen.getByDisplayValue('configured')).toBeDisabled();
    fireEvent.click(screen.getByRole('button', { name: 'Reset' }));
    expect(last().secureJsonFields).toEqual({ password: false });
    expect(last().secureJsonData).toEqual({ password: '' });
    type('Password', 'new');
    expect(last().secureJsonData).toEqual({ password: 'new' });
  });

  it('shows require as the TLS mode when none is set, as the backend defaults to it', () => {
    setupConfig();
    expect(screen.getByLabelText('require')).toBeChecked();
  });
});
