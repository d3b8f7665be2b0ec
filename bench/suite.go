package main

import (
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

// results is everything one run measured.
type results struct {
	profile   profile
	started   time.Time
	took      time.Duration
	bulk      []bulkResult
	burst     []burstResult
	mixed     []mixedResult
	overhead  []overheadResult
	roundTrip []roundTripResult
	faults    []faultsResult
	overload  []overloadResult
}

// roundTripResult is BenchmarkRoundTrip's figures for one transport.
type roundTripResult struct {
	name           string
	nsPerOp        float64
	allocsPerOp    int64
	bytesPerOp     int64
	iterations     int
	benchmarkError bool
}

// runSuite runs the workloads of p that want names (all when want is nil),
// every contender in turn, and logs progress to log.
func runSuite(p profile, want map[string]bool, log io.Writer) results {
	r := results{profile: p, started: time.Now()}
	on := func(w string) bool { return want == nil || want[w] }
	if on("overhead") {
		// First, in a fresh process: throughput is what the heap and
		// timers of ten minutes of other workloads disturb most.
		fmt.Fprintln(log, "overhead: interleaved rounds, then BenchmarkRoundTrip")
		r.overhead = runOverhead(p.overhead)
		r.roundTrip = runRoundTrip()
	}
	if on("bulk") {
		r.bulk = eachAPI(p, log, "bulk", p.bulk, runBulk)
	}
	if on("burst") {
		r.burst = eachAPI(p, log, "burst", p.burst, runBurst)
	}
	if on("mixed") {
		r.mixed = each(p, log, "mixed", "campaigns", func(ct contender) mixedResult { return runMixed(ct, p.mixed) })
	}
	if on("faults") {
		for _, sc := range faultScenarios() {
			r.faults = append(r.faults, each(p, log, "faults", sc.name, func(ct contender) faultsResult { return runFaults(sc, ct, p.faults) })...)
		}
	}
	if on("overload") {
		r.overload = eachOf(overloadContenders(), p, log, "overload", "lupitor 503 storm",
			func(ct contender) overloadResult { return runOverload(ct, p.overload) })
	}
	r.took = time.Since(r.started)
	return r
}

// eachAPI runs a workload for every API that specs sizes, in report order:
// run(a, ct, specs[a.name]) for every contender ct, as each does.
func eachAPI[S, R any](p profile, log io.Writer, workload string, specs map[string]S, run func(*api, contender, S) R) []R {
	var out []R
	for _, a := range apis() {
		if spec, ok := specs[a.name]; ok {
			out = append(out, each(p, log, workload, a.name, func(ct contender) R { return run(a, ct, spec) })...)
		}
	}
	return out
}

// each runs f for every contender, in report order: one after the other,
// or all at once (each against its own server) when p.parallel.
func each[R any](p profile, log io.Writer, workload, on string, f func(contender) R) []R {
	return eachOf(contenders(), p, log, workload, on, f)
}

// eachOf is each over the contenders cts.
func eachOf[R any](cts []contender, p profile, log io.Writer, workload, on string, f func(contender) R) []R {
	out := make([]R, len(cts))
	var wg sync.WaitGroup
	for i, ct := range cts {
		run := func() { out[i] = logged(log, workload, on, ct, func() R { return f(ct) }) }
		if !p.parallel {
			run()
			continue
		}
		wg.Go(run)
	}
	wg.Wait()
	return out
}

// logged runs f, printing what runs and how long it took.
func logged[R any](log io.Writer, workload, on string, ct contender, f func() R) R {
	start := time.Now()
	res := f()
	fmt.Fprintf(log, "%-7s %-38s %-36s %s\n", workload, on, ct.name, time.Since(start).Round(time.Millisecond))
	return res
}

// runRoundTrip runs BenchmarkRoundTrip's body in the program, through
// testing.Benchmark, for each transport.
func runRoundTrip() []roundTripResult {
	srv := newUnlimitedServer()
	defer srv.Close()
	var out []roundTripResult
	for _, t := range roundTrippers() {
		rt := t.rt()
		res := testing.Benchmark(func(b *testing.B) { benchRoundTrip(b, rt, srv.URL) })
		if ci, ok := rt.(interface{ CloseIdleConnections() }); ok {
			ci.CloseIdleConnections()
		}
		out = append(out, roundTripResult{
			name: t.name, nsPerOp: float64(res.T.Nanoseconds()) / float64(max(res.N, 1)),
			allocsPerOp: res.AllocsPerOp(), bytesPerOp: res.AllocedBytesPerOp(),
			iterations: res.N, benchmarkError: res.N == 0,
		})
	}
	return out
}
