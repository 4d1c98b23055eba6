import {
  AdHocVariableFilter,
  CoreApp,
  DataQueryRequest,
  DataQueryResponse,
  DataSourceInstanceSettings,
  LiveChannelScope,
  MetricFindValue,
  ScopedVars,
  StreamingFrameAction,
} from '@grafana/data';
import { DataSourceWithBackend, getGrafanaLiveSrv, getTemplateSrv } from '@grafana/runtime';
import { merge, Observable, of } from 'rxjs';

import { interpolateQuery } from './interpolation';
import {
  BdcOptions,
  BdcQuery,
  BdcVariableQuery,
  DEFAULT_QUERY,
  KpiInfo,
  KpiQuery,
  ListResource,
  LIVE_METRICS,
  Option,
  VariableResource,
} from './types';
import { BdcVariableSupport } from './variables';

/** AD_HOC_RESOURCES are the ad hoc filter keys and the resource that lists each key's values. */
export const AD_HOC_RESOURCES: Record<string, ListResource> = {
  region: 'regions',
  acquisitionChannel: 'channels',
  trainerId: 'trainers',
  appointmentChannel: 'appointment-channels',
};

/** isLive reports whether a target streams from Grafana Live rather than querying the backend. */
export function isLive(q: BdcQuery): q is KpiQuery {
  return q.queryType === 'kpi' && q.live === true && LIVE_METRICS[q.kpi] !== undefined;
}

/**
 * DataSource is the frontend of bdc-analytics-datasource: it interpolates template variables and
 * ad hoc filters into the query JSON, sends queries to the backend (or subscribes to Grafana
 * Live for live KPIs), and lists values for the editors and for dashboard variables from the
 * backend's resources.
 */
export class DataSource extends DataSourceWithBackend<BdcQuery, BdcOptions> {
  private readonly lists = new Map<string, Promise<Option[]>>();
  private readonly loaded = new Map<string, Option[]>();
  private kpiList?: Promise<KpiInfo[]>;

  constructor(instanceSettings: DataSourceInstanceSettings<BdcOptions>) {
    super(instanceSettings);
    this.variables = new BdcVariableSupport(this);
  }

  getDefaultQuery(_: CoreApp): Partial<BdcQuery> {
    return DEFAULT_QUERY;
  }

  /** filterQuery leaves out hidden targets and those that cannot run yet. */
  filterQuery(query: BdcQuery): boolean {
    if (query.hide || !query.queryType) {
      return false;
    }
    switch (query.queryType) {
      case 'kpi':
        return Boolean(query.kpi);
      case 'funnel':
        return Array.isArray(query.series) && query.series.length >= 2;
      case 'forecast':
        return Boolean(query.series);
      case 'predictions':
      case 'model_performance':
        return Boolean(query.model);
      default:
        return true;
    }
  }

  applyTemplateVariables(query: BdcQuery, scopedVars: ScopedVars, filters?: AdHocVariableFilter[]): BdcQuery {
    const templateSrv = getTemplateSrv();
    return interpolateQuery(templateSrv.replace.bind(templateSrv), query, scopedVars, filters);
  }

  /**
   * query sends the targets to the backend, except live KPIs: those subscribe to their channel
   * ds/<uid>/live/<metric>, which the backend fills with the current value every few seconds.
   */
  query(request: DataQueryRequest<BdcQuery>): Observable<DataQueryResponse> {
    const live = request.targets.filter(isLive);
    if (live.length === 0) {
      return super.query(request);
    }
    const streams: Array<Observable<DataQueryResponse>> = live.map((q) => this.liveStream(q, request));
    const others = request.targets.filter((q) => !isLive(q));
    if (others.length > 0) {
      streams.push(super.query({ ...request, targets: others }));
    }
    return streams.length === 1 ? streams[0] : merge(...streams);
  }

  /** liveStream is the Grafana Live stream of a live KPI, kept to the panel's range. */
  liveStream(q: KpiQuery, request?: DataQueryRequest<BdcQuery>): Observable<DataQueryResponse> {
    const live = getGrafanaLiveSrv();
    if (!live) {
      return of({ data: [], errors: [{ refId: q.refId, message: 'Grafana Live is not available' }] });
    }
    const range = request?.range;
    return live.getDataStream({
      key: `${this.uid}/${q.refId}`,
      addr: {
        scope: LiveChannelScope.DataSource,
        stream: this.uid,
        // Grafana 11 builds the channel from namespace; Grafana 12+ from stream.
        // eslint-disable-next-line @typescript-eslint/no-deprecated
        namespace: this.uid,
        path: `live/${LIVE_METRICS[q.kpi]}`,
      },
      buffer: {
        maxLength: request?.maxDataPoints ?? 1000,
        maxDelta: range ? range.to.valueOf() - range.from.valueOf() : undefined,
        action: StreamingFrameAction.Append,
      },
    });
  }

  /**
   * listOptions fetches a list resource once per datasource instance (editors share it); a
   * failed fetch is forgotten so the next editor tries again.
   */
  listOptions(resource: ListResource): Promise<Option[]> {
    let p = this.lists.get(resource);
    if (!p) {
      p = this.getResource<Option[]>(resource).then(
        (r) => {
          this.loaded.set(resource, r ?? []);
          return r ?? [];
        },
        (err) => {
          this.lists.delete(resource);
          throw err;
        }
      );
      this.lists.set(resource, p);
    }
    return p;
  }

  /** loadedOptions is a list resource already fetched, so an editor that mounts later shows it at once. */
  loadedOptions(resource: ListResource): Option[] | undefined {
    return this.loaded.get(resource);
  }

  /** kpis fetches the KPI catalogue (resources/kpis) once per datasource instance. */
  kpis(): Promise<KpiInfo[]> {
    if (!this.kpiList) {
      this.kpiList = this.getResource<KpiInfo[]>('kpis').then(
        (r) => r ?? [],
        (err) => {
          this.kpiList = undefined;
          throw err;
        }
      );
    }
    return this.kpiList;
  }

  /** listValues lists what a dashboard variable of this datasource offers. */
  async listValues(resource: VariableResource): Promise<MetricFindValue[]> {
    if (resource === 'kpis') {
      return (await this.kpis()).map((k) => ({ text: k.name, value: k.name }));
    }
    return (await this.listOptions(resource)).map((o) => ({ text: o.text, value: o.value }));
  }

  /**
   * metricFindQuery serves dashboards that give a variable's query as a resource name
   * ("regions") and the variable editor's query object alike.
   */
  async metricFindQuery(query: BdcVariableQuery | string): Promise<MetricFindValue[]> {
    const resource = typeof query === 'string' ? query.trim() : query.resource;
    return resource ? this.listValues(resource as VariableResource) : [];
  }

  /** getTagKeys lists the keys of ad hoc filters. */
  async getTagKeys(): Promise<MetricFindValue[]> {
    return Object.keys(AD_HOC_RESOURCES).map((text) => ({ text }));
  }

  /** getTagValues lists the values of an ad hoc filter key from its resource. */
  async getTagValues(options: { key: string }): Promise<MetricFindValue[]> {
    const resource = AD_HOC_RESOURCES[options.key];
    if (!resource) {
      return [];
    }
    // Ad hoc values are strings: a trainer shows as "Trainer 12" and filters on "12".
    return (await this.listOptions(resource)).map((o) => ({ text: o.text, value: String(o.value) }));
  }
}
