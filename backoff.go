package pacer

import (
	"math"
	"time"
)

// Jitter selects how a Backoff randomises its waits. Jitter spreads the
// retries of many clients so they do not hit a recovering server in lockstep.
type Jitter int

const (
	// FullJitter waits a uniform random time in [0, d], where d is the capped
	// exponential delay. It spreads load best and is the default.
	FullJitter Jitter = iota
	// EqualJitter waits d/2 plus a uniform random time in [0, d/2]: never
	// less than half the exponential delay.
	EqualJitter
	// DecorrelatedJitter waits a uniform random time in [Base, 3×previous
	// wait], capped: each wait grows from the last one actually taken.
	DecorrelatedJitter
	// NoJitter waits exactly the capped exponential delay.
	NoJitter
)

// Default backoff bounds.
const (
	defaultBackoffBase = 250 * time.Millisecond
	defaultBackoffCap  = 30 * time.Second
)

// backoff computes capped exponential waits with jitter (WithBackoff). The zero value uses defaultBackoffBase, defaultBackoffCap and
// FullJitter. It is a value: it holds no state and is safe for concurrent
// use.
type backoff struct {
	// Base is the delay before the first retry, before jitter.
	Base time.Duration
	// Cap bounds every delay. It applies after jitter, so no wait is longer
	// than Cap.
	Cap time.Duration
	// Jitter is the randomisation; FullJitter by default.
	Jitter Jitter
}

// delay returns the wait before retry number retry (1 for the first retry).
// prev is the previous wait taken (only DecorrelatedJitter uses it) and rnd
// is a random number in [0, 1): passing it in keeps delay a pure function, so
// tests can assert exact values. The result lies in [0, Cap].
func (b backoff) delay(retry int, prev time.Duration, rnd float64) time.Duration {
	base, ceiling := b.bounds()
	if b.Jitter == DecorrelatedJitter {
		hi := max(3*prev, base)
		return min(base+time.Duration(rnd*float64(hi-base)), ceiling)
	}
	d := exponential(base, ceiling, retry)
	switch b.Jitter {
	case EqualJitter:
		return d/2 + time.Duration(rnd*float64(d-d/2))
	case NoJitter:
		return d
	default:
		return time.Duration(rnd * float64(d))
	}
}

func (b backoff) bounds() (base, ceiling time.Duration) {
	base = positiveOr(b.Base, defaultBackoffBase)
	ceiling = positiveOr(b.Cap, defaultBackoffCap)
	return base, max(base, ceiling)
}

// exponential returns base·2^(retry-1), capped, without overflowing.
func exponential(base, ceiling time.Duration, retry int) time.Duration {
	if retry < 1 {
		retry = 1
	}
	d := float64(base) * math.Pow(2, float64(retry-1))
	if d >= float64(ceiling) {
		return ceiling
	}
	return time.Duration(d)
}
