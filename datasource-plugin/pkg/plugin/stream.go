package plugin

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/jackc/pgx/v5"

	"github.com/bdc-analytics/bdc/pkg/kpi"
	"github.com/bdc-analytics/bdc/pkg/store"
)

// liveMetrics are the channels ds/<uid>/live/<metric> and the real-time KPI each streams.
var liveMetrics = map[string]string{
	"users_online":           "bdc_users_online",
	"appointments_today":     "bdc_appointments_today",
	"activity_events":        "bdc_activity_events_total",
	"appointments_next_hour": "bdc_appointments_next_hour",
}

// LivePollInterval is how often a live channel polls the database, whatever its viewers.
var LivePollInterval = 3 * time.Second

// SubscribeStream accepts live/<metric> for the metrics above and sends the current value as
// initial data.
func (ds *Datasource) SubscribeStream(ctx context.Context, req *backend.SubscribeStreamRequest) (*backend.SubscribeStreamResponse, error) {
	def, ok := liveKPI(req.Path)
	if !ok {
		return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusNotFound}, nil
	}
	frame, err := ds.live.poll(ctx, def)
	if err != nil {
		ds.logger.Warn("live initial data failed", "path", req.Path, "error", err)
		return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusOK}, nil
	}
	initial, err := backend.NewInitialFrame(frame, data.IncludeAll)
	if err != nil {
		return nil, err
	}
	return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusOK, InitialData: initial}, nil
}

// PublishStream refuses: the channels are read-only.
func (ds *Datasource) PublishStream(context.Context, *backend.PublishStreamRequest) (*backend.PublishStreamResponse, error) {
	return &backend.PublishStreamResponse{Status: backend.PublishStreamStatusPermissionDenied}, nil
}

// RunStream sends the channel's frames until Grafana ends the stream (ctx). All streams of one
// channel share one poller.
func (ds *Datasource) RunStream(ctx context.Context, req *backend.RunStreamRequest, sender *backend.StreamSender) error {
	def, ok := liveKPI(req.Path)
	if !ok {
		return nil
	}
	frames, leave := ds.live.join(def)
	defer leave()
	for {
		select {
		case <-ctx.Done():
			return nil
		case f, ok := <-frames:
			if !ok {
				return nil
			}
			if err := sender.SendFrame(f, data.IncludeAll); err != nil {
				return err
			}
		}
	}
}

func liveKPI(path string) (kpi.Definition, bool) {
	metric, ok := strings.CutPrefix(path, "live/")
	if !ok {
		return kpi.Definition{}, false
	}
	name, ok := liveMetrics[metric]
	if !ok {
		return kpi.Definition{}, false
	}
	return kpi.ByName(name)
}

// hub runs one poller per live channel and fans its frames out to the channel's streams.
type hub struct {
	db     *store.DB
	logger log.Logger

	mu       sync.Mutex
	channels map[string]*channel
	closed   bool
	// Polls counts the database polls, for tests.
	polls int64
}

type channel struct {
	subscribers map[chan *data.Frame]struct{}
	stop        context.CancelFunc
}

func newHub(db *store.DB, logger log.Logger) *hub {
	return &hub{db: db, logger: logger, channels: map[string]*channel{}}
}

// join subscribes to a channel, starting its poller if it is the first subscriber.
func (h *hub) join(def kpi.Definition) (<-chan *data.Frame, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan *data.Frame, 1)
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	c := h.channels[def.Name]
	if c == nil {
		ctx, cancel := context.WithCancel(context.Background())
		c = &channel{subscribers: map[chan *data.Frame]struct{}{}, stop: cancel}
		h.channels[def.Name] = c
		go h.run(ctx, def, c)
	}
	c.subscribers[ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(c.subscribers, ch)
		if len(c.subscribers) == 0 && h.channels[def.Name] == c {
			c.stop()
			delete(h.channels, def.Name)
		}
	}
}

func (h *hub) run(ctx context.Context, def kpi.Definition, c *channel) {
	t := time.NewTicker(LivePollInterval)
	defer t.Stop()
	for {
		frame, err := h.poll(ctx, def)
		if err != nil && ctx.Err() == nil {
			h.logger.Warn("live poll failed", "kpi", def.Name, "error", err)
		}
		if err == nil {
			h.mu.Lock()
			for sub := range c.subscribers {
				select { // a slow stream skips a frame rather than holding the others
				case sub <- frame:
				default:
				}
			}
			h.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll computes the real-time KPI now as a one-row frame.
func (h *hub) poll(ctx context.Context, def kpi.Definition) (*data.Frame, error) {
	h.mu.Lock()
	h.polls++
	h.mu.Unlock()
	now := time.Now()
	var samples []kpi.Sample
	err := h.db.ReadOnly(ctx, 10*time.Second, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		samples, err = def.Run(ctx, tx, kpi.Params{At: now})
		return err
	})
	if err != nil {
		return nil, err
	}
	return kpiFrame(def, []time.Time{now}, [][]kpi.Sample{samples}), nil
}

func (h *hub) pollCount() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.polls
}

// close stops every poller (the instance is disposed).
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for name, c := range h.channels {
		c.stop()
		for sub := range c.subscribers {
			close(sub)
		}
		delete(h.channels, name)
	}
}
