package plugin

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// cache keeps query results for a TTL, keyed on the kind, the normalized query and the time
// range rounded to the query's interval, so panels refreshing within one interval hit it.
type cache struct {
	ttl   time.Duration
	limit int

	mu      sync.Mutex
	entries map[string]cacheEntry
	hits    atomic.Int64
}

type cacheEntry struct {
	frames  data.Frames
	expires time.Time
}

func newCache(ttl time.Duration, limit int) *cache {
	return &cache{ttl: ttl, limit: limit, entries: map[string]cacheEntry{}}
}

func (c *cache) get(key string) (data.Frames, bool) {
	if c.ttl <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || time.Now().After(e.expires) {
		delete(c.entries, key)
		return nil, false
	}
	c.hits.Add(1)
	return e.frames, true
}

func (c *cache) put(key string, frames data.Frames) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if len(c.entries) >= c.limit {
		for k, e := range c.entries { // drop the expired, then any, to make room
			if now.After(e.expires) || len(c.entries) >= c.limit {
				delete(c.entries, k)
			}
		}
	}
	c.entries[key] = cacheEntry{frames: frames, expires: now.Add(c.ttl)}
}

// cacheKey normalizes the query JSON (key order, whitespace; Grafana's own fields dropped) and
// rounds the range down to the interval (at least a second).
func cacheKey(kind string, q backend.DataQuery, env *envelope) string {
	var fields map[string]any
	_ = json.Unmarshal(env.raw, &fields)
	for _, k := range []string{"refId", "datasource", "intervalMs", "maxDataPoints", "hide", "key"} {
		delete(fields, k)
	}
	norm, _ := json.Marshal(fields)
	step := max(q.Interval, time.Second)
	from := q.TimeRange.From.Truncate(step).UnixMilli()
	to := q.TimeRange.To.Truncate(step).UnixMilli()
	b, _ := json.Marshal([]any{kind, string(norm), from, to, step.Milliseconds(), q.MaxDataPoints})
	return string(b)
}
