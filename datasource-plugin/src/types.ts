/**
 * The query model of bdc-analytics-datasource: the JSON of a panel target, as QUERIES.md
 * describes it. The backend (datasource-plugin/pkg, reading pkg/analytics, pkg/kpi, pkg/predict,
 * pkg/forecast) unmarshals it field for field, so every name here is a JSON tag there.
 */
import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

/** QUERY_TYPES lists every kind of query, in the order the editor offers them. */
export const QUERY_TYPES = [
  'kpi',
  'retention',
  'funnel',
  'paths',
  'lifecycle',
  'stickiness',
  'engagement',
  'segments',
  'feature_usage',
  'activity_heatmap',
  'forecast',
  'predictions',
  'model_performance',
] as const;

/** QueryType is the discriminant of BdcQuery. */
export type QueryType = (typeof QUERY_TYPES)[number];

/** DEFAULT_TIMEZONE is the backend's default (the platform's zone), shown as a placeholder. */
export const DEFAULT_TIMEZONE = 'Europe/Paris';

/** EVENT_KINDS are the event kinds of pkg/analytics (the fallback when resources/event-kinds fails). */
export const EVENT_KINDS = [
  'signup',
  'activity',
  'appointment_booked',
  'appointment_completed',
  'evaluation_started',
  'evaluation_completed',
  'programme_completed',
] as const;

/** EventKind is what a beneficiary does. */
export type EventKind = (typeof EVENT_KINDS)[number];

/** EventObject is the object form of an event; activityType and feature only with kind activity. */
export interface EventObject {
  kind: EventKind;
  activityType?: string;
  feature?: string;
}

/**
 * EventRef is an event in either form the backend reads: the object, or the short string form
 * ("signup", "activity:login", "feature:documents", "activity:page_view/feature:calendar"). The
 * editor writes objects; the string form is what a template variable ("$event") stands in.
 */
export type EventRef = EventObject | string;

/** STANDARD_AGE_BANDS are the bands of pkg/analytics' age_band breakdown. */
export const STANDARD_AGE_BANDS = ['0-17', '18-24', '25-34', '35-44', '45-54', '55-64', '65+'];

/**
 * Filters restrict the population. A list matches when any of its values does; lists combine
 * with AND. trainerId entries are numbers once interpolated; before, an entry may be a template
 * variable ("$trainer").
 */
export interface Filters {
  region?: string[];
  acquisitionChannel?: string[];
  gender?: string[];
  ageBand?: string[];
  trainerId?: Array<number | string>;
  appointmentChannel?: string[];
}

/** FilterKey names a filter list. */
export type FilterKey = keyof Filters;

/** FILTER_KEYS lists the filters in the order the editor shows them. */
export const FILTER_KEYS: FilterKey[] = [
  'region',
  'acquisitionChannel',
  'gender',
  'ageBand',
  'trainerId',
  'appointmentChannel',
];

/** Breakdown splits a result by an attribute of the beneficiary; '' is none. */
export type Breakdown = '' | 'acquisition_channel' | 'region' | 'gender' | 'age_band';

/** Period is a calendar period in the query's time zone. */
export type Period = 'day' | 'week' | 'month';

interface BaseQuery extends DataQuery {
  queryType: QueryType;
  /** IANA zone of days, weeks and months; the backend's default is Europe/Paris. */
  timezone?: string;
  filters?: Filters;
}

/** KpiQuery draws a KPI of the catalogue (resources/kpis) over the panel's range. */
export interface KpiQuery extends BaseQuery {
  queryType: 'kpi';
  kpi: string;
  /**
   * live streams a real-time KPI from ds/<uid>/live/<metric> instead of querying its history.
   * A frontend-only switch: the query then never reaches QueryData.
   */
  live?: boolean;
}

/** RetentionQuery is PostHog's retention table (pkg/analytics.RetentionQuery). */
export interface RetentionQuery extends BaseQuery {
  queryType: 'retention';
  period: Period;
  totalIntervals: number;
  targetEntity: EventRef;
  returningEntity: EventRef;
  retentionType: 'retention_first_time' | 'retention_recurring';
  retentionReference: 'total' | 'previous';
  cumulative: boolean;
  breakdown: Breakdown;
}

/** WindowUnit is the unit of a funnel's conversion window. */
export type WindowUnit = 'minute' | 'hour' | 'day' | 'week';

/** FunnelOrder says how a funnel's steps follow one another. */
export type FunnelOrder = 'ordered' | 'strict' | 'unordered';

/** FunnelQuery is a conversion funnel (pkg/analytics.FunnelQuery). */
export interface FunnelQuery extends BaseQuery {
  queryType: 'funnel';
  series: EventRef[];
  funnelWindowInterval: number;
  funnelWindowIntervalUnit: WindowUnit;
  funnelOrderType: FunnelOrder;
  breakdown: Breakdown;
}

/** PathGrouping is what one path follows: a session of activity, or a user's whole range. */
export type PathGrouping = 'session' | 'user';

/** PathLabel is how activity events are named in paths. */
export type PathLabel = 'activity_type' | 'activity_type_feature';

/** PathsQuery is the user paths between events, drawn as a node graph (pkg/analytics.PathsQuery). */
export interface PathsQuery extends BaseQuery {
  queryType: 'paths';
  /** includeEventTypes are the kinds of events in paths; the backend's default is activity only. */
  includeEventTypes?: EventKind[];
  /** startPoint: paths start at this event; none for paths from anywhere. */
  startPoint?: EventRef;
  /** endPoint: paths end at this event; none for paths to anywhere. */
  endPoint?: EventRef;
  /** stepLimit: steps of a path, 2 to 20. */
  stepLimit: number;
  /** edgeLimit: edges kept, 1 to 700. */
  edgeLimit: number;
  /** minEdgeWeight and maxEdgeWeight drop lighter and heavier edges; absent means no bound. */
  minEdgeWeight?: number;
  maxEdgeWeight?: number;
  /** excludeEvents are left out of the sequences (at most 50). */
  excludeEvents?: EventRef[];
  /** groupBy: session (activity only) or user. */
  groupBy: PathGrouping;
  nodeLabel: PathLabel;
  /** journeyLimit: most common journeys listed, 1 to 100. */
  journeyLimit: number;
}

/** LifecycleQuery splits active users into new, returning, resurrecting and dormant. */
export interface LifecycleQuery extends BaseQuery {
  queryType: 'lifecycle';
  interval: Period;
  event: EventRef;
}

/** StickinessQuery is DAU/WAU/MAU and the days-active distribution. */
export interface StickinessQuery extends BaseQuery {
  queryType: 'stickiness';
  event: EventRef;
  period: 'week' | 'month';
}

/** EngagementQuery is the engagement score distribution and the top and bottom users. */
export interface EngagementQuery extends BaseQuery {
  queryType: 'engagement';
  /** limit: length of the most and least engaged lists, 0 to 100 (0 leaves them out). */
  limit: number;
  breakdown: Breakdown;
  /** includeScores lists every beneficiary's score (by user id). */
  includeScores?: boolean;
}

/** SegmentMethod is how beneficiaries are segmented. */
export type SegmentMethod = 'rfm' | 'kmeans';

/** SegmentsQuery segments the beneficiaries by RFM scores or by k-means (pkg/analytics.SegmentsQuery). */
export interface SegmentsQuery extends BaseQuery {
  queryType: 'segments';
  method: SegmentMethod;
  /** k: k-means clusters, 2 to 20; absent chooses k by silhouette between kMin and kMax. */
  k?: number;
  kMin?: number;
  kMax?: number;
  /** seed makes k-means deterministic. */
  seed?: number;
  /** nInit: k-means++ runs per k, 1 to 20. */
  nInit?: number;
  /** includeMembers lists every segmented beneficiary (by user id) with its segment. */
  includeMembers?: boolean;
}

/** FeatureUsageQuery is the adoption and retention of each feature (pkg/analytics.FeatureUsageQuery). */
export interface FeatureUsageQuery extends BaseQuery {
  queryType: 'feature_usage';
  /** features restricts the result to these features, in this order; none for all. */
  features?: string[];
  /** period of the retention comparison. */
  period: Period;
}

/** HeatmapQuery counts events by weekday and hour. */
export interface HeatmapQuery extends BaseQuery {
  queryType: 'activity_heatmap';
  event: EventRef;
  byActivityType: boolean;
}

/** FORECAST_SERIES are the series the forecast query knows. */
export const FORECAST_SERIES = ['appointments', 'registrations', 'trainer_utilization'] as const;

/** FORECAST_METHODS are the forecasting methods: ETS chosen by AICc, Theta, seasonal naive. */
export const FORECAST_METHODS = ['auto', 'theta', 'snaive'] as const;

/** ForecastMethod is how a series is forecast. */
export type ForecastMethod = (typeof FORECAST_METHODS)[number];

/** MAX_FORECAST_LEVELS is the backend's bound on the interval levels of a forecast. */
export const MAX_FORECAST_LEVELS = 5;

/**
 * ForecastQuery forecasts a daily series from the end of the panel's range (capped at now),
 * with its actual values over the range before.
 */
export interface ForecastQuery extends BaseQuery {
  queryType: 'forecast';
  series: (typeof FORECAST_SERIES)[number] | string;
  /** horizon in days, 1 to 365. */
  horizon: number;
  /** levels of the prediction intervals, in percent (0 to 100 exclusive), at most 5. */
  levels: number[];
  /** historyDays fitted, 28 to 1096; the backend's default is 365. */
  historyDays?: number;
  /** method; the backend's default is auto (ETS chosen by AICc). */
  method?: ForecastMethod;
  /** backtest scores the method on 8 weekly origins first (shown in the query inspector). */
  backtest?: boolean;
}

/** PREDICTION_MODELS are the models whose scores the predictions query lists. */
export const PREDICTION_MODELS = ['noshow', 'churn'];

/** PERFORMANCE_MODELS are every model of the registry (the fallback of resources/models). */
export const PERFORMANCE_MODELS = ['noshow', 'churn', 'engagement', 'evaluation_score'];

/** MAX_PREDICTIONS_LIMIT is the backend's bound on predictions' limit. */
export const MAX_PREDICTIONS_LIMIT = 1000;

/** MAX_PREDICTIONS_HORIZON is the backend's bound on the no-show predictions' horizon. */
export const MAX_PREDICTIONS_HORIZON = 90;

/** PredictionsQuery lists the individuals at risk with their main factors. */
export interface PredictionsQuery extends BaseQuery {
  queryType: 'predictions';
  model: string;
  /** horizon in days (noshow only: appointments scheduled within it), 1 to 90. */
  horizon?: number;
  /** threshold of risk, 0..1. */
  threshold: number;
  limit: number;
}

/** ModelPerformanceQuery is the versions of a model and their metrics, and a reliability curve. */
export interface ModelPerformanceQuery extends BaseQuery {
  queryType: 'model_performance';
  model: string;
  /** version whose reliability is drawn; absent is the promoted one. */
  version?: number;
  /** recentDays: the reliability is measured on the rows labelled in these days, 1 to 365 (28). */
  recentDays?: number;
}

/** BdcQuery is a panel target of this datasource, discriminated on queryType. */
export type BdcQuery =
  | KpiQuery
  | RetentionQuery
  | FunnelQuery
  | PathsQuery
  | LifecycleQuery
  | StickinessQuery
  | EngagementQuery
  | SegmentsQuery
  | FeatureUsageQuery
  | HeatmapQuery
  | ForecastQuery
  | PredictionsQuery
  | ModelPerformanceQuery;

/** QueryOf is the query of one kind. */
export type QueryOf<T extends QueryType> = Extract<BdcQuery, { queryType: T }>;

/** KindFields are the fields of one kind, without those every target has. */
export type KindFields<T extends QueryType> = Omit<QueryOf<T>, keyof BaseQuery>;

/** DEFAULTS are the fields of each kind as a new query of that kind gets them (QUERIES.md). */
export const DEFAULTS: { [T in QueryType]: KindFields<T> } = {
  kpi: { kpi: 'bdc_users_active' },
  retention: {
    period: 'week',
    totalIntervals: 8,
    targetEntity: { kind: 'signup' },
    returningEntity: { kind: 'activity' },
    retentionType: 'retention_first_time',
    retentionReference: 'total',
    cumulative: false,
    breakdown: '',
  },
  funnel: {
    series: [{ kind: 'signup' }, { kind: 'appointment_booked' }, { kind: 'appointment_completed' }],
    funnelWindowInterval: 14,
    funnelWindowIntervalUnit: 'day',
    funnelOrderType: 'ordered',
    breakdown: '',
  },
  paths: { stepLimit: 5, edgeLimit: 50, groupBy: 'session', nodeLabel: 'activity_type', journeyLimit: 10 },
  lifecycle: { interval: 'week', event: { kind: 'activity' } },
  stickiness: { event: { kind: 'activity' }, period: 'week' },
  engagement: { limit: 10, breakdown: '' },
  segments: { method: 'rfm' },
  feature_usage: { period: 'week' },
  activity_heatmap: { event: { kind: 'activity' }, byActivityType: false },
  forecast: { series: 'appointments', horizon: 28, levels: [80, 95] },
  predictions: { model: 'noshow', horizon: 7, threshold: 0.5, limit: 100 },
  model_performance: { model: 'noshow' },
};

/** DEFAULT_QUERY is a new panel's query: daily active users. */
export const DEFAULT_QUERY: Partial<BdcQuery> = { queryType: 'kpi', ...DEFAULTS.kpi };

/**
 * LIVE_METRICS maps each real-time KPI to its live channel ds/<uid>/live/<metric> (QUERIES.md,
 * Live).
 */
export const LIVE_METRICS: Record<string, string> = {
  bdc_users_online: 'users_online',
  bdc_appointments_today: 'appointments_today',
  bdc_activity_events_total: 'activity_events',
  bdc_appointments_next_hour: 'appointments_next_hour',
};

/** KpiInfo is an entry of resources/kpis. */
export interface KpiInfo {
  name: string;
  help: string;
  unit: string;
  labels?: string[];
  group?: string;
  filterable?: boolean;
}

/** Option is an entry of the list resources. */
export interface Option<T = string | number> {
  text: string;
  value: T;
}

/** LIST_RESOURCES are the resources that return [{text, value}] lists. */
export const LIST_RESOURCES = [
  'regions',
  'channels',
  'appointment-channels',
  'genders',
  'activity-types',
  'features',
  'event-kinds',
  'trainers',
  'models',
] as const;

/** ListResource names a list resource. */
export type ListResource = (typeof LIST_RESOURCES)[number];

/** VariableResource is what a query variable lists: a list resource or the KPI names. */
export type VariableResource = ListResource | 'kpis';

/** BdcVariableQuery is the query of a dashboard variable of this datasource. */
export interface BdcVariableQuery extends DataQuery {
  resource: VariableResource;
}

/** SSL_MODES are the TLS modes the ConfigEditor offers (libpq's sslmode). */
export const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;

/** SSLMode is libpq's sslmode. */
export type SSLMode = (typeof SSL_MODES)[number];

/** BdcOptions are an instance's settings, as pkg/settings reads them. */
export interface BdcOptions extends DataSourceJsonData {
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  sslmode?: SSLMode;
  /** cacheTTL in seconds; 0 turns the result cache off. */
  cacheTTL?: number;
  maxRows?: number;
  /** queryTimeout in seconds. */
  queryTimeout?: number;
}

/** BdcSecureJsonData is stored encrypted by Grafana and only ever read by the backend. */
export interface BdcSecureJsonData {
  password?: string;
}
