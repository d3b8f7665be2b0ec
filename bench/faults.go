package main

import (
	"context"
	"net/http"
	"sync/atomic"

	"github.com/pacerhq/pacer/pacertest"
)

// faultsSpec sizes the faults workload: n unique creates on the lupitor
// API (whose limit they stay under), each retried by its caller after an
// error or a non-2xx answer until it is confirmed, at most callerTries
// times.
type faultsSpec struct {
	n     int
	scale float64
}

const callerTries = 10

// faultScenario is a set of injected failures.
type faultScenario struct {
	name   string
	faults pacertest.Faults
}

func faultScenarios() []faultScenario {
	return []faultScenario{
		{"503 on 30% of requests", pacertest.Faults{Fail503: 0.3, Seed: 1}},
		{"reset after commit on 10% of creates", pacertest.Faults{ResetAfterCommit: 0.1, Seed: 2}},
		{"both", pacertest.Faults{Fail503: 0.3, ResetAfterCommit: 0.1, Seed: 3}},
	}
}

// faultsResult is one contender's run of one scenario.
type faultsResult struct {
	scenario, contender string
	n                   int
	calls               int // logical calls made by the callers
	sent                int // requests the server received
	failed, dropped     int // 503s answered, connections reset after a create
	lost, dup           int
	callErrors          int // logical calls that ended in an error or non-2xx
}

// runFaults creates spec.n items under the scenario's faults.
func runFaults(sc faultScenario, ct contender, spec faultsSpec) faultsResult {
	a := lupitor()
	cfg := a.preset()
	cfg.Faults = sc.faults
	s := startSession(a, cfg, spec.scale, ct)
	defer s.close()

	ids := itemIDs("fault", spec.n)
	var calls, failures atomic.Int64
	byWorkers(ids, func(id string) {
		c, f := createConfirmed(context.Background(), s, id)
		calls.Add(int64(c))
		failures.Add(int64(f))
	})

	ev := s.srv.Evidence()
	return faultsResult{
		scenario: sc.name, contender: ct.name, n: spec.n,
		calls: int(calls.Load()), sent: sent(ev), failed: ev.Failed, dropped: ev.Dropped,
		lost: len(ev.Missing(ids)), dup: len(ev.CreatedTwice), callErrors: int(failures.Load()),
	}
}

// createConfirmed calls create until one call succeeds, as a caller that
// must neither lose nor duplicate the item does: after a call that got no
// answer at all (the server may have created the item before the
// connection died), it looks the item up and creates it again only if the
// server says it does not exist. So the caller's own calls duplicate
// nothing, and a duplicate is a library's retry of a create whose answer
// was lost. It returns the calls made (lookups included, at most
// callerTries) and how many of them failed.
func createConfirmed(ctx context.Context, s *session, id string) (calls, failures int) {
	create, lookup := s.createRequest(id), s.lookupRequest(id)
	for calls < callerTries {
		calls++
		status, err := s.caller.do(ctx, create)
		if ok(status, err) {
			return calls, failures
		}
		failures++
		if err == nil {
			continue // an answer: the server did not create it
		}
		for calls < callerTries { // no answer: did it create it?
			calls++
			status, err = s.caller.do(ctx, lookup)
			if err == nil && (status == http.StatusOK || status == http.StatusNotFound) {
				break
			}
			failures++
		}
		if status == http.StatusOK {
			return calls, failures
		}
	}
	return calls, failures
}
