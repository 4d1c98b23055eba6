import {
  DataQueryRequest,
  DataQueryResponse,
  dateTime,
  LiveChannelScope,
  StreamingFrameAction,
  VariableSupportType,
} from '@grafana/data';
import { GrafanaLiveSrv, setGrafanaLiveSrv } from '@grafana/runtime';
import { lastValueFrom, Observable, of } from 'rxjs';

import { DataSource, isLive } from './datasource';
import { makeDataSource, useTemplateVariables } from './test-utils';
import { BdcQuery, BdcVariableQuery, DEFAULT_QUERY, KpiQuery } from './types';
import { BdcVariableSupport } from './variables';

const INJECTION = "'; DROP TABLE bdc.users; --";

beforeEach(() => {
  useTemplateVariables({
    region: ['Bretagne', 'Normandie'],
    kpi: 'bdc_users_online',
    evil: INJECTION,
    step: ['signup', 'activity:login'],
  });
});

function request(targets: BdcQuery[]): DataQueryRequest<BdcQuery> {
  const to = dateTime('2025-03-01T00:00:00Z');
  const from = dateTime('2025-02-01T00:00:00Z');
  return {
    requestId: 'r1',
    interval: '1h',
    intervalMs: 3600000,
    maxDataPoints: 300,
    range: { from, to, raw: { from: 'now-30d', to: 'now' } },
    scopedVars: {},
    targets,
    timezone: 'browser',
    app: 'dashboard',
    startTime: 0,
  };
}

describe('applyTemplateVariables', () => {
  it('interpolates filters, KPI names and events, and merges ad hoc filters', () => {
    const { ds } = makeDataSource();
    const q: BdcQuery = {
      refId: 'A',
      queryType: 'funnel',
      series: ['$step', { kind: 'appointment_completed' }],
      funnelWindowInterval: 14,
      funnelWindowIntervalUnit: 'day',
      funnelOrderType: 'ordered',
      breakdown: '',
      filters: { region: ['$region'] },
    };
    expect(ds.applyTemplateVariables(q, {}, [{ key: 'trainerId', operator: '=', value: '12' }])).toEqual({
      ...q,
      series: ['signup', 'activity:login', { kind: 'appointment_completed' }],
      filters: { region: ['Bretagne', 'Normandie'], trainerId: [12] },
    });
    const kpi: KpiQuery = { refId: 'B', queryType: 'kpi', kpi: '$kpi', filters: { acquisitionChannel: ['$evil'] } };
    expect(ds.applyTemplateVariables(kpi, {})).toEqual({
      ...kpi,
      kpi: 'bdc_users_online',
      filters: { acquisitionChannel: [INJECTION] },
    });
  });
});

describe('filterQuery', () => {
  const { ds } = makeDataSource();
  it.each<[string, BdcQuery, boolean]>([
    ['runs a KPI', { refId: 'A', queryType: 'kpi', kpi: 'bdc_users_active' }, true],
    ['skips a hidden query', { refId: 'A', queryType: 'kpi', kpi: 'bdc_users_active', hide: true }, false],
    ['skips a KPI without a name', { refId: 'A', queryType: 'kpi', kpi: '' }, false],
    [
      'skips a funnel of one step',
      {
        refId: 'A',
        queryType: 'funnel',
        series: ['signup'],
        funnelWindowInterval: 14,
        funnelWindowIntervalUnit: 'day',
        funnelOrderType: 'ordered',
        breakdown: '',
      },
      false,
    ],
    [
      'skips predictions without a model',
      { refId: 'A', queryType: 'predictions', model: '', horizon: 7, threshold: 0.5, limit: 10 },
      false,
    ],
    ['runs model performance', { refId: 'A', queryType: 'model_performance', model: 'churn' }, true],
    ['skips a query without a type', { refId: 'A' } as BdcQuery, false],
  ])('%s', (_, q, want) => {
    expect(ds.filterQuery(q)).toBe(want);
  });

  it('has a default query that runs', () => {
    expect(ds.getDefaultQuery('dashboard' as never)).toEqual(DEFAULT_QUERY);
    expect(ds.filterQuery({ refId: 'A', ...DEFAULT_QUERY } as BdcQuery)).toBe(true);
  });
});

describe('variable support', () => {
  it('is a custom variable support that lists values from the resource it names', async () => {
    const { ds, getResource } = makeDataSource();
    expect(ds.variables).toBeInstanceOf(BdcVariableSupport);
    expect(ds.variables!.getType()).toBe(VariableSupportType.Custom);
    const support = ds.variables as BdcVariableSupport;
    const run = (resource: BdcVariableQuery['resource']) =>
      lastValueFrom(support.query({ ...request([]), targets: [{ refId: 'V', resource }] } as never));

    expect((await run('regions')).data).toEqual([
      { text: 'Bretagne', value: 'Bretagne' },
      { text: 'Île-de-France', value: 'Île-de-France' },
    ]);
    expect(getResource).toHaveBeenLastCalledWith('regions');
    expect((await run('trainers')).data).toEqual([
      { text: 'Trainer 12', value: 12 },
      { text: 'Trainer 40', value: 40 },
    ]);
    expect(getResource).toHaveBeenLastCalledWith('trainers');
    expect((await run('kpis')).data.map((v: { text: string }) => v.text)).toContain('bdc_users_online');
    expect(getResource).toHaveBeenLastCalledWith('kpis');
  });

  it('answers a variable given as a resource name, as provisioned dashboards may', async () => {
    const { ds, getResource } = makeDataSource();
    expect(await ds.metricFindQuery('appointment-channels')).toHaveLength(3);
    expect(getResource).toHaveBeenCalledWith('appointment-channels');
  });

  it('fetches a list once per instance, and again after a failure', async () => {
    const { ds, getResource } = makeDataSource();
    await ds.listOptions('features');
    await ds.listOptions('features');
    expect(getResource).toHaveBeenCalledTimes(1);
    getResource.mockRejectedValueOnce(new Error('down'));
    await expect(ds.listOptions('genders')).rejects.toThrow('down');
    expect(await ds.listOptions('genders')).toHaveLength(2);
  });
});

describe('ad hoc filters', () => {
  it('offers the filter keys and their values from the resources', async () => {
    const { ds, getResource } = makeDataSource();
    expect((await ds.getTagKeys()).map((k) => k.text)).toEqual([
      'region',
      'acquisitionChannel',
      'trainerId',
      'appointmentChannel',
    ]);
    expect(await ds.getTagValues({ key: 'trainerId' })).toEqual([
      { text: 'Trainer 12', value: '12' },
      { text: 'Trainer 40', value: '40' },
    ]);
    expect(getResource).toHaveBeenLastCalledWith('trainers');
    await ds.getTagValues({ key: 'acquisitionChannel' });
    expect(getResource).toHaveBeenLastCalledWith('channels');
    expect(await ds.getTagValues({ key: 'email' })).toEqual([]);
  });
});

describe('live KPIs', () => {
  function fakeLive(): { live: GrafanaLiveSrv; getDataStream: jest.Mock } {
    const getDataStream = jest.fn((): Observable<DataQueryResponse> =>
      of({ data: [{ fields: [], length: 0, name: 'bdc_users_online' }] })
    );
    const live = { getDataStream } as unknown as GrafanaLiveSrv;
    setGrafanaLiveSrv(live);
    return { live, getDataStream };
  }

  it('is live only for a real-time KPI with live on', () => {
    expect(isLive({ refId: 'A', queryType: 'kpi', kpi: 'bdc_users_online', live: true })).toBe(true);
    expect(isLive({ refId: 'A', queryType: 'kpi', kpi: 'bdc_users_online' })).toBe(false);
    expect(isLive({ refId: 'A', queryType: 'kpi', kpi: 'bdc_users_active', live: true })).toBe(false);
  });

  it('subscribes to ds/<uid>/live/<metric> and sends the other targets to the backend', async () => {
    const { getDataStream } = fakeLive();
    const { ds } = makeDataSource();
    // DataSourceWithBackend.query stands for the backend: only the non-live targets reach it.
    const parent = Object.getPrototypeOf(DataSource.prototype);
    const parentQuery = jest.spyOn(parent, 'query').mockReturnValue(of({ data: [{ name: 'history' }] }));

    const live: KpiQuery = { refId: 'A', queryType: 'kpi', kpi: 'bdc_appointments_today', live: true };
    const history: KpiQuery = { refId: 'B', queryType: 'kpi', kpi: 'bdc_users_active' };
    const responses: DataQueryResponse[] = [];
    await new Promise<void>((done) =>
      ds.query(request([live, history])).subscribe({ next: (r) => responses.push(r), complete: done })
    );

    expect(getDataStream).toHaveBeenCalledTimes(1);
    const opts = getDataStream.mock.calls[0][0];
    expect(opts.addr).toMatchObject({
      scope: LiveChannelScope.DataSource,
      stream: 'bdc-uid',
      path: 'live/appointments_today',
    });
    expect(opts.buffer).toEqual({
      maxLength: 300,
      maxDelta: 28 * 24 * 3600 * 1000, // the panel's range, February 2025
      action: StreamingFrameAction.Append,
    });
    expect(parentQuery).toHaveBeenCalledTimes(1);
    expect((parentQuery.mock.calls[0][0] as DataQueryRequest<BdcQuery>).targets).toEqual([history]);
    expect(responses).toHaveLength(2);
    parentQuery.mockRestore();
  });
});
