package main

import (
	"fmt"
	"strings"
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
		efficiency(r),
		nothingLost(r),
		mixedTarget(r),
		overheadTarget(r),
	}
}

// no429 checks that contender got no 429 in any bulk or burst run on the
// APIs that pass the filter.
func no429(r results, contender string, filter func(*api) bool, goal string) target {
	t := target{goal: goal, met: true}
	var parts []string
	check := func(kind, apiName, name string, rejected int) {
		if name != contender || !filter(apiByName(apiName)) {
			return
		}
		t.applies = true
		parts = append(parts, fmt.Sprintf("%s %s %d", kind, apiName, rejected))
		if rejected > 0 {
			t.met = false
		}
	}
	for _, b := range r.bulk {
		check("bulk", b.api, b.contender, b.rejected)
	}
	for _, b := range r.burst {
		check("burst", b.api, b.contender, b.rejected)
	}
	t.measured = "429s: " + strings.Join(parts, ", ")
	return t
}

// headerless429 checks zero-config pacer's 429s on the APIs without
// headers: at most 2% of the requests sent.
func headerless429(r results) target {
	t := target{goal: "bulk and burst: zero-config pacer 429s ≤ 2% of requests sent on the header-less preset", met: true}
	var parts []string
	check := func(kind, apiName, name string, rejected, sent int) {
		if name != pacerZero || apiByName(apiName).headers {
			return
		}
		t.applies = true
		parts = append(parts, fmt.Sprintf("%s %s %d of %d (%s)", kind, apiName, rejected, sent, pct(rejected, sent)))
		if float64(rejected) > 0.02*float64(sent) {
			t.met = false
		}
	}
	for _, b := range r.bulk {
		check("bulk", b.api, b.contender, b.rejected, b.sent)
	}
	for _, b := range r.burst {
		check("burst", b.api, b.contender, b.rejected, b.sent)
	}
	t.measured = strings.Join(parts, ", ")
	return t
}

func efficiency(r results) target {
	t := target{goal: "bulk: configured pacer efficiency ≥ 0.97 of the theoretical minimum on every preset", met: true}
	var parts []string
	for _, b := range r.bulk {
		if b.contender != pacerConfigured {
			continue
		}
		t.applies = true
		if b.lost > 0 {
			parts = append(parts, fmt.Sprintf("%s – (%d lost)", b.api, b.lost))
			t.met = false
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s", b.api, f3(b.efficiency())))
		if b.efficiency() < 0.97 {
			t.met = false
		}
	}
	t.measured = strings.Join(parts, ", ")
	return t
}

// nothingLost checks that neither pacer contender lost or duplicated an
// item in any run.
func nothingLost(r results) target {
	t := target{goal: "0 lost and 0 duplicated items for pacer in every run, faults included", met: true}
	var bad []string
	note := func(where, name string, lost, dup int) {
		if !strings.HasPrefix(name, "pacer") {
			return
		}
		t.applies = true
		if lost > 0 || dup > 0 {
			t.met = false
			bad = append(bad, fmt.Sprintf("%s, %s: %d lost, %d duplicated", where, name, lost, dup))
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
	t.measured = "none lost or duplicated"
	if len(bad) > 0 {
		t.measured = strings.Join(bad, "; ")
	}
	return t
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
	t := target{goal: "overhead: pacer requests/s ≥ 0.90 of a bare http.Transport", met: true}
	var parts []string
	for _, o := range r.overhead {
		if o.contender != pacerZero && o.contender != pacerConfigured {
			continue
		}
		t.applies = true
		parts = append(parts, fmt.Sprintf("%s %s", o.contender, f2(o.ratio)))
		if o.ratio < 0.90 {
			t.met = false
		}
	}
	t.measured = strings.Join(parts, ", ")
	return t
}
