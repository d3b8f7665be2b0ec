package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pacerhq/pacer/pacertest"
)

// Names of the two pacer contenders, as contenders() spells them.
const (
	pacerZero       = "pacer (zero config)"
	pacerConfigured = "pacer (configured)"
)

// target is one goal pacer must reach, judged on a run's results.
type target struct {
	goal     string
	measured string
	met      bool
	applies  bool // false when the run measured nothing it applies to
}

// targets judges every target on r.
func targets(r results) []target {
	return []target{
		no429(r, pacerConfigured, func(*api) bool { return true },
			"bulk and burst: 0×429 for configured pacer on every preset"),
		no429(r, pacerZero, func(a *api) bool { return a.headers },
			"bulk and burst: 0×429 for zero-config pacer on every preset with headers on success"),
		headerless429(r),
		headerlessZero(r),
		efficiency(r),
		fixedWindowLatency(r),
		nothingLost(r),
		mixedTarget(r),
		overheadTarget(r),
	}
}

// no429 checks that contender got no 429 in any bulk or burst run on the
// APIs that pass the filter.
func no429(r results, contender string, filter func(*api) bool, goal string) target {
	t := newTally(goal)
	for _, l := range limitRuns(r) {
		if l.contender == contender && filter(apiByName(l.api)) {
			t.add(l.rejected > 0, "%s %s %d", l.kind, l.api, l.rejected)
		}
	}
	res := t.result(", ")
	res.measured = "429s: " + res.measured
	return res
}

// headerless429 checks zero-config pacer's 429s on the APIs without
// headers: at most 2% of the requests sent.
func headerless429(r results) target {
	t := newTally("bulk and burst: zero-config pacer 429s ≤ 2% of requests sent on the header-less preset")
	for _, l := range limitRuns(r) {
		if l.contender == pacerZero && !apiByName(l.api).headers {
			t.add(float64(l.rejected) > 0.02*float64(l.sent),
				"%s %s %d of %d (%s)", l.kind, l.api, l.rejected, l.sent, pct(l.rejected, l.sent))
		}
	}
	return t.result(", ")
}

// headerlessZero checks zero-config pacer on the APIs without headers
// against issue 14: bulk efficiency ≥ 0.97 with 429s ≤ 1% of the requests
// sent; burst with no failed event and 429s ≤ 1%.
func headerlessZero(r results) target {
	t := newTally("header-less preset, zero config: bulk efficiency ≥ 0.97 and burst 0 failed events, each with 429s ≤ 1% of requests sent")
	for _, b := range r.bulk {
		if b.contender == pacerZero && !apiByName(b.api).headers {
			eff := b.efficiency()
			t.add(b.lost > 0 || eff < 0.97 || float64(b.rejected) > 0.01*float64(b.sent),
				"bulk %s efficiency %s, %d lost, 429s %d of %d (%s)", b.api, f3(eff), b.lost, b.rejected, b.sent, pct(b.rejected, b.sent))
		}
	}
	for _, b := range r.burst {
		if b.contender == pacerZero && !apiByName(b.api).headers {
			t.add(b.errors > 0 || float64(b.rejected) > 0.01*float64(b.sent),
				"burst %s %d of %d events failed, 429s %d of %d (%s)", b.api, b.errors, b.events, b.rejected, b.sent, pct(b.rejected, b.sent))
		}
	}
	return t.result("; ")
}

// fixedWindowLatency checks that on the APIs whose create limits are fixed
// windows, configured pacer's burst p50 is at most zero-config pacer's:
// a budget stated from the vendor page must not wait longer than the
// server requires. Both are compared as the tables show them, to 0.1 s:
// the configured client also obeys the limits it learns, so it can at best
// tie with the zero-config one, and a tie measures a few milliseconds of
// scheduling either way.
func fixedWindowLatency(r results) target {
	t := newTally("burst on fixed-window presets: configured pacer p50 ≤ zero-config pacer's (to 0.1 s)")
	p50 := map[string]map[string]burstResult{}
	for _, b := range r.burst {
		if p50[b.api] == nil {
			p50[b.api] = map[string]burstResult{}
		}
		p50[b.api][b.contender] = b
	}
	for _, a := range apis() {
		zero, okZ := p50[a.name][pacerZero]
		conf, okC := p50[a.name][pacerConfigured]
		if !okZ || !okC || !fixedWindows(a) {
			continue
		}
		c, z := conf.p50.Round(100*time.Millisecond), zero.p50.Round(100*time.Millisecond)
		t.add(conf.errors > 0 || c > z, "%s %s configured vs %s zero config", a.name, c, z)
	}
	return t.result(", ")
}

// fixedWindows reports whether a limit on a's create endpoint is a fixed
// window.
func fixedWindows(a *api) bool {
	for _, l := range limitsFor(a.preset(), http.MethodPost, a.create) {
		if l.Kind == pacertest.Fixed {
			return true
		}
	}
	return false
}

func efficiency(r results) target {
	t := newTally("bulk: configured pacer efficiency ≥ 0.97 of the theoretical minimum on every preset")
	for _, b := range r.bulk {
		switch {
		case b.contender != pacerConfigured:
		case b.lost > 0:
			t.add(true, "%s – (%d lost)", b.api, b.lost)
		default:
			t.add(b.efficiency() < 0.97, "%s %s", b.api, f3(b.efficiency()))
		}
	}
	return t.result(", ")
}

// nothingLost checks that neither pacer contender lost or duplicated an
// item in any run.
func nothingLost(r results) target {
	t := newTally("0 lost and 0 duplicated items for pacer in every run, faults included")
	note := func(where, name string, lost, dup int) {
		if !strings.HasPrefix(name, "pacer") {
			return
		}
		t.applies = true
		if lost > 0 || dup > 0 {
			t.add(true, "%s, %s: %d lost, %d duplicated", where, name, lost, dup)
		}
	}
	for _, b := range r.bulk {
		note("bulk "+b.api, b.contender, b.lost, b.dup)
	}
	for _, b := range r.burst {
		note("burst "+b.api, b.contender, b.lost, b.dup)
	}
	for _, f := range r.faults {
		note("faults "+f.scenario, f.contender, f.lost, f.dup)
	}
	for _, o := range r.overload {
		note("overload", o.contender, o.lost, o.dup)
	}
	res := t.result("; ")
	if len(t.parts) == 0 {
		res.measured = "none lost or duplicated"
	}
	return res
}

// mixedTarget checks that configured pacer's generous stream reaches 0.95
// of its limit while the tight one is saturated (0.95 of its limit too).
func mixedTarget(r results) target {
	t := target{goal: "mixed endpoints: generous stream ≥ 0.95 of its limit while the tight one is saturated (configured pacer)"}
	var parts []string
	for _, m := range r.mixed {
		if m.contender != pacerConfigured && m.contender != pacerZero {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: tight %s, generous %s", m.contender, f2(m.achieved[0]), f2(m.achieved[1])))
		if m.contender == pacerConfigured {
			t.applies = true
			t.met = m.achieved[0] >= 0.95 && m.achieved[1] >= 0.95
		}
	}
	t.measured = strings.Join(parts, "; ")
	return t
}

// overheadTarget checks both pacer contenders' requests per second against
// the bare transport's.
func overheadTarget(r results) target {
	t := newTally("overhead: pacer requests/s ≥ 0.90 of a bare http.Transport")
	for _, o := range r.overhead {
		if o.contender == pacerZero || o.contender == pacerConfigured {
			t.add(o.ratio < 0.90, "%s %s", o.contender, f2(o.ratio))
		}
	}
	return t.result(", ")
}

// tally builds a target from the runs it is judged on: every run it adds
// makes the target apply and adds a figure to what it measured; a run that
// misses the goal fails the target. A tally starts met.
type tally struct {
	target
	parts []string // the figures, in the order added
}

func newTally(goal string) *tally { return &tally{target: target{goal: goal, met: true}} }

// add records one run: its figure, formatted as by fmt.Sprintf, and miss
// when the run misses the goal.
func (t *tally) add(miss bool, format string, args ...any) {
	t.applies = true
	t.parts = append(t.parts, fmt.Sprintf(format, args...))
	if miss {
		t.met = false
	}
}

// result returns the target, measured as the figures joined by sep.
func (t *tally) result(sep string) target {
	t.measured = strings.Join(t.parts, sep)
	return t.target
}

// limitRun is one bulk or burst run, as the 429 targets judge it.
type limitRun struct {
	kind, api, contender string
	rejected, sent       int
}

// limitRuns returns the bulk runs of r, then its burst runs.
func limitRuns(r results) []limitRun {
	var out []limitRun
	for _, b := range r.bulk {
		out = append(out, limitRun{"bulk", b.api, b.contender, b.rejected, b.sent})
	}
	for _, b := range r.burst {
		out = append(out, limitRun{"burst", b.api, b.contender, b.rejected, b.sent})
	}
	return out
}
