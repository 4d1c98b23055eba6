package predict

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Default shares of the labelled rows in the training and validation sets of a time-based split;
// the test set is the rest (20%), the most recent.
const (
	DefaultTrainShare = 0.6
	DefaultValidShare = 0.2
)

// ErrTooFewRows is returned when a split leaves a set without rows, or a classifier's set
// without both classes.
var ErrTooFewRows = errors.New("too few rows")

// Window is the time-based split of a training: rows whose label became known in
// [From, TrainEnd) train the model, [TrainEnd, ValidEnd) validate it (early stopping and
// calibration), and [ValidEnd, To) test it. Every label of a set was known before any label of
// the next, so test figures are what the model would have scored going forward.
type Window struct {
	From     time.Time `json:"from"`
	TrainEnd time.Time `json:"train_end"`
	ValidEnd time.Time `json:"valid_end"`
	To       time.Time `json:"to"`
}

// splitSets are the row indexes of the three sets of a frame.
type splitSets struct {
	train, valid, test []int
}

// timeSplit splits the labelled rows of f by label instant. A zero TrainEnd or ValidEnd in w is
// set at the trainShare and trainShare+validShare quantiles of the label instants (0 means
// DefaultTrainShare and DefaultValidShare); rows exactly at a boundary go to the later set.
func timeSplit(f *Frame, w Window, trainShare, validShare float64) (Window, splitSets, error) {
	if trainShare <= 0 {
		trainShare = DefaultTrainShare
	}
	if validShare <= 0 {
		validShare = DefaultValidShare
	}
	if trainShare+validShare >= 1 {
		return w, splitSets{}, fmt.Errorf("%w: training and validation shares %.2f and %.2f leave no test rows", ErrTooFewRows, trainShare, validShare)
	}
	idx := f.Labeled()
	if len(idx) == 0 {
		return w, splitSets{}, fmt.Errorf("%w: no labelled rows", ErrTooFewRows)
	}
	slices.SortStableFunc(idx, func(a, b int) int { return f.LabelAt[a].Compare(f.LabelAt[b]) })
	at := func(q float64) time.Time {
		k := min(len(idx)-1, int(q*float64(len(idx))))
		return f.LabelAt[idx[k]]
	}
	if w.TrainEnd.IsZero() {
		w.TrainEnd = at(trainShare)
	}
	if w.ValidEnd.IsZero() {
		w.ValidEnd = at(trainShare + validShare)
	}
	if w.From.IsZero() {
		w.From = f.LabelAt[idx[0]]
	}
	if !w.ValidEnd.After(w.TrainEnd) {
		return w, splitSets{}, fmt.Errorf("%w: validation window [%s, %s) is empty", ErrTooFewRows,
			w.TrainEnd.Format(time.RFC3339), w.ValidEnd.Format(time.RFC3339))
	}
	var s splitSets
	for _, i := range idx {
		t := f.LabelAt[i]
		switch {
		case t.Before(w.From):
		case t.Before(w.TrainEnd):
			s.train = append(s.train, i)
		case t.Before(w.ValidEnd):
			s.valid = append(s.valid, i)
		case w.To.IsZero() || t.Before(w.To):
			s.test = append(s.test, i)
		}
	}
	for _, set := range []struct {
		name string
		rows []int
	}{{"training", s.train}, {"validation", s.valid}, {"test", s.test}} {
		if len(set.rows) == 0 {
			return w, s, fmt.Errorf("%w: the %s set is empty", ErrTooFewRows, set.name)
		}
	}
	// Order each set by label instant, ties by id, so results do not depend on the query's row
	// order.
	for _, rows := range [][]int{s.train, s.valid, s.test} {
		slices.SortFunc(rows, func(a, b int) int {
			if c := f.LabelAt[a].Compare(f.LabelAt[b]); c != 0 {
				return c
			}
			return cmp.Compare(f.IDs[a], f.IDs[b])
		})
	}
	return w, s, nil
}

// Split is a frame split by time into training, validation and test rows.
type Split struct {
	Window             Window
	Train, Valid, Test *Frame
}

// SplitByTime splits the labelled rows of f by label instant at the boundaries of opts.Window,
// zero boundaries at the quantiles of opts.TrainShare and opts.ValidShare: the split Train
// trains on.
func SplitByTime(f *Frame, opts TrainOptions) (*Split, error) {
	w, sets, err := timeSplit(f, opts.Window, opts.TrainShare, opts.ValidShare)
	if err != nil {
		return nil, err
	}
	return &Split{Window: w, Train: f.Subset(sets.train), Valid: f.Subset(sets.valid), Test: f.Subset(sets.test)}, nil
}
