import { eventLabel, formatEvent, parseEvent } from './events';

describe('short form of events (as pkg/analytics.ParseEvent)', () => {
  it.each([
    ['signup', { kind: 'signup' }],
    ['activity', { kind: 'activity' }],
    ['activity:login', { kind: 'activity', activityType: 'login' }],
    ['feature:documents', { kind: 'activity', feature: 'documents' }],
    ['activity:page_view/feature:calendar', { kind: 'activity', activityType: 'page_view', feature: 'calendar' }],
  ])('reads and writes %s', (short, object) => {
    expect(parseEvent(short)).toEqual(object);
    expect(formatEvent(parseEvent(short)!)).toBe(short);
  });

  it.each(['$event', 'activity:', 'feature:', 'signup:x', 'feature:a/feature:b', 'activity:x/y', 'nope'])(
    'does not read %s',
    (s) => {
      expect(parseEvent(s)).toBeUndefined();
    }
  );

  it('labels either form', () => {
    expect(eventLabel({ kind: 'activity', activityType: 'login' })).toBe('activity:login');
    expect(eventLabel('$event')).toBe('$event');
    expect(eventLabel(undefined)).toBe('');
  });
});
