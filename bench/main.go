// Command bench runs the same rate-limited workloads through pacer and
// through what a Go user would otherwise use (a hand-written retry loop,
// go-retryablehttp, go-retryablehttp with x/time/rate, failsafe-go), in one
// run, against pacertest servers on 127.0.0.1, and writes the results as
// markdown tables (docs/benchmarks.md) and a PNG timeline
// (docs/timeline.png).
//
// Usage, from the bench directory (or `go -C bench run .` from the root):
//
//	go run .          # the full run
//	go run . -quick   # a smaller run, under 2 minutes on 2 cores
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func main() {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	quick := fs.Bool("quick", false, "run the smaller profile (under 2 minutes)")
	docs := fs.String("docs", "../docs", "directory to write benchmarks.md and timeline.png to")
	only := fs.String("only", "", "comma-separated workloads to run (bulk,burst,mixed,faults,overload,overhead); all if empty")
	onlyAPIs := fs.String("apis", "", "comma-separated APIs to run the bulk and burst workloads on (lupitor,lumail,lumar,campaigns,demeterrr); all if empty")
	_ = fs.Parse(os.Args[1:])

	p, command := fullProfile(), "go -C bench run ."
	if *quick {
		p, command = quickProfile(), "go -C bench run . -quick"
	}
	var want map[string]bool
	if *only != "" {
		want = map[string]bool{}
		for _, w := range strings.Split(*only, ",") {
			want[strings.TrimSpace(w)] = true
		}
	}
	if *onlyAPIs != "" {
		p = p.onlyAPIs(strings.Split(*onlyAPIs, ","))
	}
	testing.Init() // testing.Benchmark reads -test.benchtime
	_ = flag.Set("test.benchtime", p.benchtime.String())

	r := runSuite(p, want, os.Stderr)
	if err := writeDocs(*docs, r, command); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "wrote %s and %s in %s\n",
		filepath.Join(*docs, "benchmarks.md"), filepath.Join(*docs, "timeline.png"), r.took.Round(1e9))
}

// writeDocs writes the report (keeping the analysis of the previous one)
// and, for each timeline whose bulk runs the run had, its PNG.
func writeDocs(dir string, r results, command string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mdPath := filepath.Join(dir, "benchmarks.md")
	old, _ := os.ReadFile(mdPath) // none on a first run
	var md bytes.Buffer
	writeReport(&md, r, command, keptAnalysis(string(old)))
	if err := os.WriteFile(mdPath, md.Bytes(), 0o644); err != nil {
		return err
	}
	for i, name := range r.profile.timelines {
		runs := filter(r.bulk, func(b bulkResult) bool { return b.api == name })
		if len(runs) == 0 {
			continue
		}
		var png bytes.Buffer
		if err := writeTimeline(&png, apiByName(name), runs); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, timelineFile(i, name)), png.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// timelineFile is the PNG of the i-th timeline, of the API name.
func timelineFile(i int, name string) string {
	if i == 0 {
		return "timeline.png"
	}
	return "timeline-" + name + ".png"
}
