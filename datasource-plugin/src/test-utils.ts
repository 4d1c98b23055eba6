/** Helpers of the unit tests: template variables, and a DataSource whose resources answer from fixtures. */
import { DataSourceInstanceSettings } from '@grafana/data';
import { setTemplateSrv, TemplateSrv } from '@grafana/runtime';

import { DataSource } from './datasource';
import { fakeTemplateSrv } from './fakeTemplateSrv';
import { BdcOptions, EVENT_KINDS } from './types';

/** useTemplateVariables installs a fake template service with these variables. */
export function useTemplateVariables(vars: Record<string, string | string[]> = {}): TemplateSrv {
  const srv = fakeTemplateSrv(vars);
  setTemplateSrv(srv);
  return srv;
}

/** RESOURCES are the fixtures of the backend's resources. */
export const RESOURCES: Record<string, unknown> = {
  kpis: [
    {
      name: 'bdc_users_active',
      help: 'Users active in the window',
      unit: 'users',
      labels: ['window'],
      group: 'business',
    },
    {
      name: 'bdc_users_online',
      help: 'Users active in the last 5 minutes',
      unit: 'users',
      labels: [],
      group: 'realtime',
    },
    {
      name: 'bdc_appointment_noshow_ratio',
      help: 'Share of no-shows',
      unit: 'ratio',
      labels: ['window'],
      group: 'operational',
    },
  ],
  regions: [
    { text: 'Bretagne', value: 'Bretagne' },
    { text: 'Île-de-France', value: 'Île-de-France' },
  ],
  channels: [
    { text: 'search', value: 'search' },
    { text: 'referral', value: 'referral' },
  ],
  genders: [
    { text: 'female', value: 'female' },
    { text: 'male', value: 'male' },
  ],
  'appointment-channels': [
    { text: 'in_person', value: 'in_person' },
    { text: 'phone', value: 'phone' },
    { text: 'video', value: 'video' },
  ],
  'activity-types': [
    { text: 'login', value: 'login' },
    { text: 'page_view', value: 'page_view' },
  ],
  features: [
    { text: 'calendar', value: 'calendar' },
    { text: 'documents', value: 'documents' },
  ],
  'event-kinds': EVENT_KINDS.map((k) => ({ text: k, value: k })),
  trainers: [
    { text: 'Trainer 12', value: 12 },
    { text: 'Trainer 40', value: 40 },
  ],
  // As the backend lists them: scorable models first, with their promoted version.
  models: [
    { text: 'noshow (version 3, trained 2026-06-01)', value: 'noshow' },
    { text: 'churn (version 2, trained 2026-06-01)', value: 'churn' },
    { text: 'engagement (version 2, trained 2026-06-01)', value: 'engagement' },
    { text: 'evaluation_score (not trained yet)', value: 'evaluation_score' },
  ],
};

export const INSTANCE_SETTINGS = {
  id: 7,
  uid: 'bdc-uid',
  type: 'bdc-analytics-datasource',
  name: 'BDC Analytics',
  access: 'proxy',
  readOnly: false,
  jsonData: {},
  meta: { id: 'bdc-analytics-datasource', name: 'BDC Analytics', type: 'datasource', info: {} },
} as unknown as DataSourceInstanceSettings<BdcOptions>;

/**
 * makeDataSource is a DataSource whose getResource answers from RESOURCES (a jest mock, to see
 * which resources were asked for); an unknown path fails as the backend's 404 would.
 */
export function makeDataSource(): { ds: DataSource; getResource: jest.SpyInstance } {
  const ds = new DataSource(INSTANCE_SETTINGS);
  const getResource = jest.spyOn(ds, 'getResource').mockImplementation(async (path: string) => {
    if (!(path in RESOURCES)) {
      throw { status: 404, data: { message: `no resource ${path}` } };
    }
    return RESOURCES[path];
  });
  return { ds, getResource };
}
