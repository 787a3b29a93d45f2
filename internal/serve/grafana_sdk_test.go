package serve

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Grafana itself cannot run here (AGPL, and not in Debian), so the
// dashboard is held to the schema Grafana's own Apache-2.0 Go SDK
// (grafana-foundation-sdk) generates from Grafana's: decoded strictly,
// an unknown field anywhere, a field of the wrong type or a required one
// missing fails, down to each panel's options (by panel type) and each
// query (the Prometheus data query's fields).
func TestGrafanaDashboardMatchesTheFoundationSDKSchema(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	// dashboard.Dashboard is the JSON model Grafana imports (schemaVersion
	// 39, the file's); dashboardv2, which the SDK prefers, is the newer
	// resource form, another format
	//lint:ignore SA1019 the file is in the classic model, which this type is
	if err := strict(b, &dashboard.Dashboard{}); err != nil {
		t.Fatalf("%s does not match the schema of grafana-foundation-sdk's dashboard types:\n%v", dashboardFile, err)
	}
	// What the strict decoding above checked, decoded again part by
	// part to see that each was checked against its own type: in
	// v0.0.22 the nested strict decoders return their empty error list
	// as an error, so the decoded panels, options and queries are left
	// out of the result (the errors themselves still come up, as the
	// misspellings below show)
	var raw struct {
		Panels []struct {
			Type, Title string
			Options     json.RawMessage
			FieldConfig struct {
				Defaults struct{ Custom json.RawMessage }
			}
			Targets []json.RawMessage
		}
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	panels, queries := 0, 0
	for _, p := range raw.Panels {
		var options, custom interface{ UnmarshalJSONStrict([]byte) error }
		switch p.Type {
		case "row":
			continue
		case "stat":
			options = &stat.Options{}
		case "table":
			options, custom = &table.Options{}, &common.TableFieldOptions{}
		case "timeseries":
			options, custom = &timeseries.Options{}, &common.GraphFieldConfig{}
		default:
			t.Errorf("panel %q: type %s, which this test does not know", p.Title, p.Type)
			continue
		}
		panels++
		if err := strict(p.Options, options); err != nil {
			t.Errorf("panel %q (%s) options: %v", p.Title, p.Type, err)
		}
		if custom != nil && p.FieldConfig.Defaults.Custom != nil {
			if err := strict(p.FieldConfig.Defaults.Custom, custom); err != nil {
				t.Errorf("panel %q (%s) fieldConfig.defaults.custom: %v", p.Title, p.Type, err)
			}
		}
		for _, tg := range p.Targets {
			var q prometheus.Dataquery
			if err := strict(tg, &q); err != nil {
				t.Errorf("panel %q query: %v", p.Title, err)
			}
			if strings.TrimSpace(q.Expr) == "" {
				t.Errorf("panel %q: query %s has no expression", p.Title, deref(q.RefId))
			}
			queries++
		}
	}
	if panels < 10 || queries < 10 {
		t.Fatalf("%d panels, %d queries decoded", panels, queries)
	}

	// the strictness is real: a misspelt field in a query, in a panel's
	// options or at the top fails the same decoding
	for _, bad := range []struct{ what, old, new string }{
		{"a query field", `"legendFormat"`, `"legendFormatt"`},
		{"a stat option", `"colorMode"`, `"colourMode"`},
		{"a dashboard field", `"graphTooltip"`, `"graphToolTip"`},
	} {
		if !strings.Contains(string(b), bad.old) {
			t.Fatalf("%s: no %s in the dashboard to misspell", bad.what, bad.old)
		}
		//lint:ignore SA1019 as above
		if err := strict([]byte(strings.Replace(string(b), bad.old, bad.new, 1)), &dashboard.Dashboard{}); err == nil {
			t.Errorf("%s misspelt (%s) decodes without error", bad.what, bad.new)
		}
	}
}

// strict decodes with the SDK's strict decoder, which returns its error
// list even when it is empty.
func strict(b []byte, v interface{ UnmarshalJSONStrict([]byte) error }) error {
	err := v.UnmarshalJSONStrict(b)
	var list cog.BuildErrors
	if errors.As(err, &list) && len(list) == 0 {
		return nil
	}
	return err
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
