/**
 * The two forms of an event (QUERIES.md): the object {kind, activityType?, feature?} and the short
 * string form read by pkg/analytics.ParseEvent. The editor shows either as an object; the
 * backend is the one that validates.
 */
import { EVENT_KINDS, EventKind, EventObject, EventRef } from './types';

function isKind(s: string): s is EventKind {
  return (EVENT_KINDS as readonly string[]).includes(s);
}

/**
 * parseEvent reads the short form the way pkg/analytics.ParseEvent does: "signup", "activity",
 * "activity:TYPE", "feature:NAME" or "activity:TYPE/feature:NAME". It returns undefined for
 * anything else, a template variable included.
 */
export function parseEvent(s: string): EventObject | undefined {
  const slash = s.indexOf('/');
  const head = slash < 0 ? s : s.slice(0, slash);
  const rest = slash < 0 ? undefined : s.slice(slash + 1);
  const colon = head.indexOf(':');
  if (colon < 0) {
    return rest === undefined && isKind(head) ? { kind: head } : undefined;
  }
  const kind = head.slice(0, colon);
  const arg = head.slice(colon + 1);
  if (arg === '') {
    return undefined;
  }
  if (kind === 'feature' && rest === undefined) {
    return { kind: 'activity', feature: arg };
  }
  if (kind !== 'activity') {
    return undefined;
  }
  if (rest === undefined) {
    return { kind: 'activity', activityType: arg };
  }
  const feature = rest.startsWith('feature:') ? rest.slice('feature:'.length) : '';
  return feature === '' ? undefined : { kind: 'activity', activityType: arg, feature };
}

/** formatEvent is the short form of e, as pkg/analytics.Event.String writes it. */
export function formatEvent(e: EventObject): string {
  if (e.kind !== 'activity') {
    return e.kind;
  }
  if (e.activityType && e.feature) {
    return `activity:${e.activityType}/feature:${e.feature}`;
  }
  if (e.activityType) {
    return `activity:${e.activityType}`;
  }
  if (e.feature) {
    return `feature:${e.feature}`;
  }
  return 'activity';
}

/** eventLabel names an event for people: the short form, whatever form it is stored in. */
export function eventLabel(e: EventRef | undefined): string {
  if (e === undefined) {
    return '';
  }
  return typeof e === 'string' ? e : formatEvent(e);
}
