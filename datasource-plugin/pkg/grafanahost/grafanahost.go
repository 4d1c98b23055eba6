// Package grafanahost stands in for Grafana on the host side of the plugin connection, for tests
// and benchmarks: it builds the plugin's binary and launches it exactly as Grafana does
// (hashicorp go-plugin, gRPC, protocol version 2, magic cookie grafana_plugin_type=datasource),
// then talks to it over gRPC. Grafana itself cannot run here; this package replaces it and
// nothing else. Production code must not import it.
package grafanahost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
)

// MainPackage is the import path of the plugin's main package.
const MainPackage = "github.com/bdc-analytics/bdc/datasource-plugin/pkg"

// PluginID is the plugin's id in plugin.json.
const PluginID = "bdc-analytics-datasource"

// Build compiles the plugin into dir under the name Grafana looks for
// (gpx_bdc_analytics_<os>_<arch>) and returns its path.
func Build(ctx context.Context, dir string) (string, error) {
	path := filepath.Join(dir, fmt.Sprintf("gpx_bdc_analytics_%s_%s", runtime.GOOS, runtime.GOARCH))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", path, MainPackage)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("couldn't build the plugin: %w\n%s", err, out)
	}
	return path, nil
}

// Host is a launched plugin process and the gRPC clients Grafana holds to it.
type Host struct {
	client      *goplugin.Client
	Diagnostics grpcplugin.DiagnosticsClient
	Data        grpcplugin.DataClient
	Resource    grpcplugin.ResourceClient
	Stream      grpcplugin.StreamClient
}

// Launch starts the plugin binary and completes the go-plugin handshake. The plugin's warnings
// and errors go to logs (nil discards them). Close stops it.
func Launch(binary string, logs io.Writer) (*Host, error) {
	if logs == nil {
		logs = io.Discard
	}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: goplugin.HandshakeConfig{ProtocolVersion: 2, MagicCookieKey: "grafana_plugin_type", MagicCookieValue: "datasource"},
		Plugins: goplugin.PluginSet{
			"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{}, "data": &grpcplugin.DataGRPCPlugin{},
			"resource": &grpcplugin.ResourceGRPCPlugin{}, "stream": &grpcplugin.StreamGRPCPlugin{},
		},
		Cmd:              exec.Command(binary),
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		SyncStdout:       io.Discard,
		SyncStderr:       io.Discard,
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "plugin", Output: logs, Level: hclog.Warn}),
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("plugin handshake: %w", err)
	}
	h := &Host{client: client}
	var errs []error
	dispense := func(name string) any {
		raw, err := rpc.Dispense(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("dispense %s: %w", name, err))
		}
		return raw
	}
	d, q, r, s := dispense("diagnostics"), dispense("data"), dispense("resource"), dispense("stream")
	if err := errors.Join(errs...); err != nil {
		client.Kill()
		return nil, err
	}
	h.Diagnostics, h.Data = d.(grpcplugin.DiagnosticsClient), q.(grpcplugin.DataClient)
	h.Resource, h.Stream = r.(grpcplugin.ResourceClient), s.(grpcplugin.StreamClient)
	return h, nil
}

// Close stops the plugin process.
func (h *Host) Close() { h.client.Kill() }

// PluginContext is the context Grafana sends with each call for a datasource instance on the
// database at databaseURL (a postgres:// URL without a password). uid names the instance:
// Grafana keeps one instance per uid, so two uids get two pools and two caches. extra adds or
// overrides jsonData settings (cacheTTL, maxRows, queryTimeout).
func PluginContext(databaseURL, uid string, extra map[string]any) (*pluginv2.PluginContext, error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	settings := map[string]any{"host": u.Host, "database": strings.TrimPrefix(u.Path, "/"), "user": u.User.Username(), "sslmode": "disable"}
	for k, v := range extra {
		settings[k] = v
	}
	js, err := json.Marshal(settings)
	if err != nil {
		return nil, err
	}
	return backend.ToProto().PluginContext(backend.PluginContext{
		PluginID: PluginID,
		DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
			ID: 1, UID: uid, Name: "BDC", JSONData: js, DecryptedSecureJSONData: map[string]string{"password": ""}, Updated: time.Unix(1, 0),
		},
	}), nil
}

// QueryData sends the queries in one request, as a Grafana panel with several targets does, and
// decodes the answer.
func (h *Host) QueryData(ctx context.Context, pc *pluginv2.PluginContext, queries ...backend.DataQuery) (*backend.QueryDataResponse, error) {
	req := backend.ToProto().QueryDataRequest(&backend.QueryDataRequest{Queries: queries})
	req.PluginContext = pc
	resp, err := h.Data.QueryData(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("QueryData: %w", err)
	}
	return backend.FromProto().QueryDataResponse(resp)
}

// CallResource sends GET resources/<path> and returns the status and body of the answer.
func (h *Host) CallResource(ctx context.Context, pc *pluginv2.PluginContext, path string) (int, []byte, error) {
	stream, err := h.Resource.CallResource(ctx, &pluginv2.CallResourceRequest{PluginContext: pc, Path: path, Method: "GET", Url: path})
	if err != nil {
		return 0, nil, fmt.Errorf("CallResource %s: %w", path, err)
	}
	msg, err := stream.Recv()
	if err != nil {
		return 0, nil, fmt.Errorf("CallResource %s: %w", path, err)
	}
	return int(msg.Code), msg.Body, nil
}
