import { expandEntry, interpolateQuery, mergeAdHocFilters } from './interpolation';
import { fakeTemplateSrv } from './fakeTemplateSrv';
import { BdcQuery, FunnelQuery, KpiQuery, RetentionQuery } from './types';

const INJECTION = "'; DROP TABLE bdc.users; --";

const srv = fakeTemplateSrv({
  region: ['Bretagne', 'Île-de-France'],
  one: 'Bretagne',
  comma: ['Provence-Alpes-Côte d’Azur, Corse', 'Normandie'],
  trainer: ['12', '40'],
  evil: INJECTION,
  evils: [INJECTION, 'x") OR 1=1 --'],
  kpi: 'bdc_users_online',
  step: ['signup', 'activity:login', 'appointment_completed'],
  type: 'login',
  tz: 'America/New_York',
  model: 'churn',
});
const replace = srv.replace.bind(srv);

describe('expandEntry', () => {
  it('expands a multi-value variable into one entry per value', () => {
    expect(expandEntry(replace, '$region', {})).toEqual(['Bretagne', 'Île-de-France']);
    expect(expandEntry(replace, '${region}', {})).toEqual(['Bretagne', 'Île-de-France']);
    expect(expandEntry(replace, '[[region]]', {})).toEqual(['Bretagne', 'Île-de-France']);
  });

  it('keeps commas inside values (json format) and splits on them when asked (csv format)', () => {
    expect(expandEntry(replace, '$comma', {})).toEqual(['Provence-Alpes-Côte d’Azur, Corse', 'Normandie']);
    expect(expandEntry(replace, '${region:csv}', {})).toEqual(['Bretagne', 'Île-de-France']);
  });

  it('interpolates a single value, text around a variable, and leaves unknown variables as written', () => {
    expect(expandEntry(replace, '$one', {})).toEqual(['Bretagne']);
    expect(expandEntry(replace, 'activity:$type', {})).toEqual(['activity:login']);
    expect(expandEntry(replace, '$nosuch', {})).toEqual(['$nosuch']);
  });

  it('prefers scoped variables (repeated panels)', () => {
    expect(expandEntry(replace, '$region', { region: { text: 'Normandie', value: 'Normandie' } })).toEqual([
      'Normandie',
    ]);
  });
});

describe('interpolateQuery', () => {
  it('interpolates single and multi-value variables in filters, trainers as numbers', () => {
    const q: KpiQuery = {
      refId: 'A',
      queryType: 'kpi',
      kpi: 'bdc_users_active',
      filters: { region: ['$region', 'Normandie'], gender: ['$one'], trainerId: ['$trainer', 7], ageBand: ['25-34'] },
    };
    expect(interpolateQuery(replace, q, {})).toEqual({
      refId: 'A',
      queryType: 'kpi',
      kpi: 'bdc_users_active',
      filters: {
        region: ['Bretagne', 'Île-de-France', 'Normandie'],
        gender: ['Bretagne'],
        trainerId: [12, 40, 7],
        ageBand: ['25-34'],
      },
    });
  });

  it('interpolates the KPI name and the time zone', () => {
    const q: KpiQuery = { refId: 'A', queryType: 'kpi', kpi: '$kpi', timezone: '$tz' };
    expect(interpolateQuery(replace, q, {})).toEqual({
      refId: 'A',
      queryType: 'kpi',
      kpi: 'bdc_users_online',
      timezone: 'America/New_York',
    });
  });

  it('interpolates events in both forms, and expands a multi-value variable into funnel steps', () => {
    const funnel: FunnelQuery = {
      refId: 'B',
      queryType: 'funnel',
      series: ['$step', { kind: 'activity', activityType: '$type' }, 'feature:documents'],
      funnelWindowInterval: 14,
      funnelWindowIntervalUnit: 'day',
      funnelOrderType: 'ordered',
      breakdown: '',
    };
    expect(interpolateQuery(replace, funnel, {}).series).toEqual([
      'signup',
      'activity:login',
      'appointment_completed',
      { kind: 'activity', activityType: 'login' },
      'feature:documents',
    ]);

    const retention: RetentionQuery = {
      refId: 'C',
      queryType: 'retention',
      period: 'week',
      totalIntervals: 8,
      targetEntity: 'activity:$type',
      returningEntity: { kind: 'activity', feature: '$one' },
      retentionType: 'retention_first_time',
      retentionReference: 'total',
      cumulative: false,
      breakdown: '',
    };
    const out = interpolateQuery(replace, retention, {});
    expect(out.targetEntity).toBe('activity:login');
    expect(out.returningEntity).toEqual({ kind: 'activity', feature: 'Bretagne' });
    expect(out.totalIntervals).toBe(8);
    expect(out.cumulative).toBe(false);
  });

  it('interpolates series and model names and leaves numbers alone', () => {
    const q: BdcQuery = {
      refId: 'D',
      queryType: 'predictions',
      model: '$model',
      horizon: 7,
      threshold: 0.5,
      limit: 100,
    };
    expect(interpolateQuery(replace, q, {})).toEqual({ ...q, model: 'churn' });
    const f: BdcQuery = { refId: 'E', queryType: 'forecast', series: 'appointments', horizon: 28, levels: [80, 95] };
    expect(interpolateQuery(replace, f, {})).toEqual(f);
  });

  it('passes injection strings through as plain values: no quoting, no SQL', () => {
    const q: KpiQuery = {
      refId: 'A',
      queryType: 'kpi',
      kpi: '$evil',
      filters: { region: ['$evils'], acquisitionChannel: ['$evil'], trainerId: ['$evil'] },
    };
    const out = interpolateQuery(replace, q, {});
    expect(out.kpi).toBe(INJECTION);
    expect(out.filters).toEqual({
      region: [INJECTION, 'x") OR 1=1 --'],
      acquisitionChannel: [INJECTION],
      // not a number: left as a string for the backend to refuse as a wrong parameter type
      trainerId: [INJECTION],
    });
    expect(JSON.stringify(out)).not.toMatch(/select|where/i);
  });

  it('drops filter lists that end up empty and does not touch Grafana fields', () => {
    const q: KpiQuery = {
      refId: '$one',
      queryType: 'kpi',
      kpi: 'bdc_users_active',
      hide: false,
      datasource: { uid: '$one', type: 'bdc-analytics-datasource' },
      filters: { region: [''], gender: [] },
    };
    const out = interpolateQuery(replace, q, {});
    expect(out.refId).toBe('$one');
    expect(out.datasource).toEqual({ uid: '$one', type: 'bdc-analytics-datasource' });
    expect(out).not.toHaveProperty('filters');
  });
});

describe('mergeAdHocFilters', () => {
  it('adds ad hoc filters as lists, trainers as numbers, one-of as several values', () => {
    expect(
      mergeAdHocFilters({}, [
        { key: 'region', operator: '=', value: 'Bretagne' },
        { key: 'trainerId', operator: '=', value: '12' },
        { key: 'appointmentChannel', operator: '=|', value: 'video', values: ['video', 'phone'] },
      ])
    ).toEqual({ region: ['Bretagne'], trainerId: [12], appointmentChannel: ['video', 'phone'] });
  });

  it('narrows a list the query already has (AND), and never widens it to "no filter"', () => {
    expect(
      mergeAdHocFilters({ region: ['Bretagne', 'Normandie'] }, [{ key: 'region', operator: '=', value: 'Normandie' }])
    ).toEqual({ region: ['Normandie'] });
    const none = mergeAdHocFilters({ region: ['Bretagne'], trainerId: [12] }, [
      { key: 'region', operator: '=', value: 'Corse' },
      { key: 'trainerId', operator: '=', value: '40' },
    ]);
    expect(none.region).toHaveLength(1);
    expect(none.region).not.toContain('Bretagne');
    expect(none.region).not.toContain('Corse');
    expect(none.trainerId).toEqual([-1]);
  });

  it('leaves out operators and keys it cannot express', () => {
    expect(
      mergeAdHocFilters({}, [
        { key: 'region', operator: '!=', value: 'Bretagne' },
        { key: 'email', operator: '=', value: 'a@b.c' },
      ])
    ).toEqual({});
  });

  it('applies through interpolateQuery', () => {
    const q: KpiQuery = { refId: 'A', queryType: 'kpi', kpi: 'bdc_users_active' };
    expect(interpolateQuery(replace, q, {}, [{ key: 'acquisitionChannel', operator: '=', value: INJECTION }])).toEqual({
      ...q,
      filters: { acquisitionChannel: [INJECTION] },
    });
  });
});
