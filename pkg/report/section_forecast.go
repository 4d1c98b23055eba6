package report

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/bdc-analytics/bdc/pkg/predict"
)

// forecastFreshness is how old a saved forecast may be and still be shown: the retraining job
// runs weekly.
const forecastFreshness = 8 * 24 * time.Hour

// forecast draws a daily series' recent history and its forecast with the prediction intervals:
// the latest forecast the retraining job saved when it is recent, else one fitted now.
func (bd *build) forecast(ctx context.Context, s SectionSpec) (Section, error) {
	at := bd.p.At
	run, err := bd.predict.LatestForecast(ctx, s.Series)
	var note string
	switch {
	case err == nil && !run.GeneratedAt.After(at) && at.Sub(run.GeneratedAt) <= forecastFreshness && len(run.Points) > 0:
		note = fmt.Sprintf("Forecast made on %s by the retraining job (%s).", run.GeneratedAt.In(bd.loc).Format("2 Jan 2006 15:04"), run.Model)
	case err == nil || errors.Is(err, predict.ErrNoRows):
		run, err = bd.predict.Forecast(ctx, s.Series, predict.ForecastOptions{Now: at, Horizon: s.HorizonDays, BacktestOrigins: -1})
		if err != nil {
			return Section{}, err
		}
		note = fmt.Sprintf("Forecast fitted for this report (%s): no forecast of the last %d days was saved.", run.Model, int(forecastFreshness.Hours()/24))
	default:
		return Section{}, err
	}
	points := run.Points
	if len(points) > s.HorizonDays {
		points = points[:s.HorizonDays]
	}
	first := points[0].Day.In(bd.loc)
	last := points[len(points)-1].Day.In(bd.loc)
	today := time.Date(at.In(bd.loc).Year(), at.In(bd.loc).Month(), at.In(bd.loc).Day(), 0, 0, 0, 0, bd.loc)
	histTo := today
	if end := last.AddDate(0, 0, 1); end.Before(histTo) {
		histTo = end
	}
	hist, err := bd.predict.Series(ctx, s.Series, first.AddDate(0, 0, -s.HistoryDays), histTo)
	if err != nil {
		return Section{}, err
	}
	unit := UnitNumber
	title := strings.ReplaceAll(s.Series, "_", " ")
	switch s.Series {
	case predict.SeriesAppointments, predict.SeriesRegistrations:
		unit = UnitCount
	case predict.SeriesTrainerUtilization:
		unit = UnitRatio
	}
	t := &Table{Columns: []Column{{Name: "day", Title: "Day"}, {Name: "actual", Title: "Actual " + title}, {Name: "forecast", Title: "Forecast"}}}
	series := Series{Column: "forecast", Title: "Forecast", Dashed: true}
	for _, l := range run.Levels {
		pct := strconv.FormatFloat(100*l, 'f', -1, 64)
		lo, hi := "lower_"+pct, "upper_"+pct
		t.Columns = append(t.Columns, Column{Name: lo, Title: "Lower " + pct + " %"}, Column{Name: hi, Title: "Upper " + pct + " %"})
		series.Bands = append(series.Bands, Band{Title: pct + " % interval", Lower: lo, Upper: hi})
	}
	// Rows: every day from the history's start to the forecast's end.
	actual := map[string]float64{}
	for i, v := range hist.Values {
		actual[hist.Day(i).Format(time.DateOnly)] = v
	}
	byDay := map[string]predict.ForecastPoint{}
	for _, p := range points {
		byDay[p.Day.In(bd.loc).Format(time.DateOnly)] = p
	}
	start := first
	if len(hist.Values) > 0 && hist.Start.Before(start) {
		start = hist.Start.In(bd.loc)
	}
	for d := start; !d.After(last); d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, bd.loc) {
		key := d.Format(time.DateOnly)
		if key == first.Format(time.DateOnly) {
			t.ShowFrom = len(t.Rows)
		}
		a, ok := actual[key]
		if !ok {
			a = math.NaN()
		}
		row := []Cell{instant(d, UnitDate, bd.loc), number(a, unit)}
		if p, ok := byDay[key]; ok {
			row = append(row, number(p.Mean, unit))
			for k := range run.Levels {
				row = append(row, number(p.Lower[k], unit), number(p.Upper[k], unit))
			}
		} else {
			row = append(row, number(math.NaN(), unit))
			for range run.Levels {
				row = append(row, number(math.NaN(), unit), number(math.NaN(), unit))
			}
		}
		t.Rows = append(t.Rows, row)
	}
	sec := Section{Title: s.Title, Table: t, Notes: append([]string{note}, bd.unfilteredNote("Forecasts")...)}
	sec.Charts = []Chart{{Title: s.Title, Kind: ChartLine, X: "day", Unit: unit,
		Series: []Series{{Column: "actual", Title: "Actual"}, series}}}
	sum, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
	for _, p := range points {
		sum += p.Mean
		lo, hi = min(lo, p.Mean), max(hi, p.Mean)
	}
	sec.Summary = fmt.Sprintf("From %s to %s: %s a day on average (between %s and %s a day), by %s.",
		first.Format("2 Jan"), last.Format("2 Jan 2006"), FormatValue(sum/float64(len(points)), unit),
		FormatValue(lo, unit), FormatValue(hi, unit), run.Model)
	return sec, nil
}
