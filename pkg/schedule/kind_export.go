package schedule

import (
	"context"

	"go.yaml.in/yaml/v3"

	"github.com/bdc-analytics/bdc/pkg/export"
)

// ExportKind runs jobs of kind export: each item of the job's export list is a pkg/export Spec,
// exported at the firing's scheduled time (so "period: day" is the day before the firing) into
// the run's folder, as <name>_<scheduled time UTC>.<ext> with its <ext>.meta.json sidecar.
type ExportKind struct {
	// Exporter reads the data; its DB may be nil when only validating a configuration.
	Exporter *export.Exporter
	// HashKey anonymizes PII columns; nil when no key is configured.
	HashKey []byte
}

// Prepare compiles the job's export list.
func (k *ExportKind) Prepare(job *Job, block *yaml.Node, lines export.Lines, path string) (Task, error) {
	if block == nil {
		return nil, lines.Errorf(path, "an export job needs an export list (source, format, ...)")
	}
	var specs []export.Spec
	if err := export.DecodeStrict(block, path, &specs, lines); err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return nil, lines.Errorf(path, "an export job needs at least one export")
	}
	plans := make([]*export.Plan, len(specs))
	names := map[string]int{}
	for i, spec := range specs {
		p, err := export.Compile(spec, k.HashKey, lines, export.Index(path, i))
		if err != nil {
			return nil, err
		}
		name := p.Stem() + p.Format().Ext
		if prev, dup := names[name]; dup {
			return nil, lines.Errorf(export.Index(path, i), "exports %d and %d would both be named %s: give one a name", prev, i, name)
		}
		names[name] = i
		plans[i] = p
	}
	return func(ctx context.Context, f Firing, out *export.Staging) (Outcome, error) {
		var o Outcome
		for _, p := range plans {
			md, err := k.Exporter.Run(ctx, p, f.At, out, export.FileStem(p, f.At))
			if err != nil {
				return o, err
			}
			o.Rows += md.Rows
			o.Files = append(o.Files, md.Files...)
		}
		return o, nil
	}, nil
}
