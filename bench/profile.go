package main

import (
	"slices"
	"time"
)

// profile sizes every workload of one run. Scales are chosen so that a
// window lasts long enough in real time for the client machine never to be
// the bottleneck (sending a window's worth of requests takes a small part
// of the window), yet the run stays short.
type profile struct {
	name     string
	bulk     map[string]bulkSpec  // by API name; APIs absent are skipped
	burst    map[string]burstSpec // by API name
	mixed    mixedSpec
	overhead overheadSpec
	faults   faultsSpec
	overload overloadSpec
	// benchtime is the -test.benchtime of the in-program BenchmarkRoundTrip.
	benchtime time.Duration
	// timelines names the APIs whose bulk runs the PNGs show: the first in
	// timeline.png, the others in timeline-<api>.png.
	timelines []string
	// parallel runs the contenders of each workload at once, each against
	// its own server, instead of one after the other: much faster, less
	// precise (they share the CPU). The overhead workload is always run
	// alone.
	parallel bool
}

// fullProfile is the default run, contenders one after the other: each
// bulk import binds its limit for 2 to 3 windows (demeterrr: its hourly
// limit), bursts last 2 to 4 windows. Scales keep the documented rates
// within what the client machine sends easily (1000/h × 1800 is 500
// requests per real second; lumar's 20/s × 50, 1000).
func fullProfile() profile {
	return profile{
		name: "full",
		bulk: map[string]bulkSpec{
			"lupitor":   {n: 3100, scale: 1800},
			"lumail":    {n: 310, scale: 60},
			"lumar":     {n: 12600, scale: 50},
			"campaigns": {n: 62, scale: 60},
			"demeterrr": {n: 1100, scale: 600},
		},
		burst: map[string]burstSpec{
			"lupitor":   {scale: 1800, over: 2, half: 2},
			"lumail":    {scale: 60, over: 2, half: 2},
			"lumar":     {scale: 30, over: 1, half: 1},
			"campaigns": {scale: 60, over: 2, half: 2},
			"demeterrr": {scale: 60, over: 2, half: 2},
		},
		mixed:    mixedSpec{scale: 60, windows: 3},
		overhead: overheadSpec{rounds: 11, round: time.Second},
		faults:   faultsSpec{n: 500, scale: 200},
		overload: overloadSpec{scale: 50, rate: 5, before: 20 * time.Second, outage: time.Minute,
			after: 40 * time.Second, redeliver: 30 * time.Second, deliveries: 4},
		benchtime: 2 * time.Second,
		timelines: []string{"lupitor", "lumar"},
	}
}

// quickProfile (-quick) is a smaller run with the contenders of each
// workload running at once: under a minute, figures indicative.
func quickProfile() profile {
	return profile{
		name: "quick",
		bulk: map[string]bulkSpec{
			"lupitor":   {n: 2100, scale: 3600},
			"lumail":    {n: 210, scale: 120},
			"lumar":     {n: 6600, scale: 100},
			"campaigns": {n: 42, scale: 120},
			"demeterrr": {n: 210, scale: 240},
		},
		burst: map[string]burstSpec{
			"lupitor":   {scale: 3600, over: 1, half: 1},
			"lumail":    {scale: 120, over: 1, half: 1},
			"lumar":     {scale: 60, over: 1, half: 0.5},
			"campaigns": {scale: 120, over: 1, half: 1},
			"demeterrr": {scale: 240, over: 1, half: 1},
		},
		mixed:    mixedSpec{scale: 120, windows: 2},
		overhead: overheadSpec{rounds: 3, round: 500 * time.Millisecond},
		faults:   faultsSpec{n: 200, scale: 1000},
		overload: overloadSpec{scale: 100, rate: 5, before: 20 * time.Second, outage: time.Minute,
			after: 40 * time.Second, redeliver: 30 * time.Second, deliveries: 4},
		benchtime: 500 * time.Millisecond,
		timelines: []string{"lupitor", "lumar"},
		parallel:  true,
	}
}

// tinyProfile is the version the tests run: every workload, a few APIs,
// seconds in all.
func tinyProfile() profile {
	return profile{
		name:     "tiny",
		bulk:     map[string]bulkSpec{"lumail": {n: 110, scale: 600}},
		burst:    map[string]burstSpec{"campaigns": {scale: 600, over: 1, half: 1}},
		mixed:    mixedSpec{scale: 600, windows: 1},
		overhead: overheadSpec{rounds: 1, round: 50 * time.Millisecond},
		faults:   faultsSpec{n: 30, scale: 600},
		overload: overloadSpec{scale: 100, rate: 2, before: 10 * time.Second, outage: 30 * time.Second,
			after: 20 * time.Second, redeliver: 20 * time.Second, deliveries: 3},
		benchtime: 20 * time.Millisecond,
		timelines: []string{"lumail"},
		parallel:  true,
	}
}

// onlyAPIs returns p with its bulk and burst workloads on the named APIs
// only.
func (p profile) onlyAPIs(names []string) profile {
	keep := func(name string) bool { return slices.Contains(names, name) }
	bulk, burst := map[string]bulkSpec{}, map[string]burstSpec{}
	for n, s := range p.bulk {
		if keep(n) {
			bulk[n] = s
		}
	}
	for n, s := range p.burst {
		if keep(n) {
			burst[n] = s
		}
	}
	p.bulk, p.burst = bulk, burst
	return p
}
