package ml

import (
	"encoding/json"
	"fmt"
	"io"
)

// format and formatVersion identify the saved form, so a future change of it can be detected.
const (
	format        = "bdc-ml-model"
	formatVersion = 1
)

// envelope is the saved form of any model: what it is, then the model's own JSON.
type envelope struct {
	Format  string          `json:"format"`
	Version int             `json:"version"`
	Kind    string          `json:"kind"`
	Model   json.RawMessage `json:"model"`
}

// kindOf names the concrete type of m in the envelope.
func kindOf(m Model) (string, error) {
	switch m.(type) {
	case *Tree:
		return "tree", nil
	case *Forest:
		return "forest", nil
	case *GBM:
		return "gbm", nil
	case *Linear:
		return "linear", nil
	case *Logistic:
		return "logistic", nil
	case *Calibrated:
		return "calibrated", nil
	}
	return "", fmt.Errorf("cannot save a %T: not a model of this package", m)
}

// Marshal encodes m as JSON in an envelope that records its kind. Every float is written in
// its shortest exact decimal form, so Unmarshal gives back a model whose predictions are
// bit-identical.
func Marshal(m Model) ([]byte, error) {
	kind, err := kindOf(m)
	if err != nil {
		return nil, fmt.Errorf("marshal model: %w", err)
	}
	body, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("marshal %s model: %w", kind, err)
	}
	b, err := json.Marshal(envelope{Format: format, Version: formatVersion, Kind: kind, Model: body})
	if err != nil {
		return nil, fmt.Errorf("marshal %s model: %w", kind, err)
	}
	return b, nil
}

// Unmarshal decodes a model encoded by Marshal, checking its structure.
func Unmarshal(b []byte) (Model, error) {
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("unmarshal model: %w", err)
	}
	if e.Format != format || e.Version != formatVersion {
		return nil, fmt.Errorf("unmarshal model: format %q version %d, want %q version %d", e.Format, e.Version, format, formatVersion)
	}
	var m Model
	switch e.Kind {
	case "tree":
		m = &Tree{}
	case "forest":
		m = &Forest{}
	case "gbm":
		m = &GBM{}
	case "linear":
		m = &Linear{}
	case "logistic":
		m = &Logistic{}
	case "calibrated":
		m = &Calibrated{}
	default:
		return nil, fmt.Errorf("unmarshal model: unknown kind %q", e.Kind)
	}
	if err := json.Unmarshal(e.Model, m); err != nil {
		return nil, fmt.Errorf("unmarshal %s model: %w", e.Kind, err)
	}
	return m, nil
}

// Save writes m to w as Marshal encodes it.
func Save(w io.Writer, m Model) error {
	b, err := Marshal(m)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return nil
}

// Load reads a model saved by Save.
func Load(r io.Reader) (Model, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	return Unmarshal(b)
}
