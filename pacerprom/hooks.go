package pacerprom

import (
	"github.com/pacerhq/pacer"
	"github.com/prometheus/client_golang/prometheus"
)

// Hooks returns pacer hooks that feed this Collector's counters and
// histograms, then call next's hook of the same event when it is set: a
// transport takes one Hooks value, so this is how pacerprom and your own
// hooks share it. Pass the result to pacer.WithHooks.
func (c *Collector) Hooks(next pacer.Hooks) pacer.Hooks {
	return pacer.Hooks{
		OnAttempt: func(e pacer.AttemptEvent) {
			c.counter(kSent, e.RequestInfo, statusClass(e.Status)).Inc()
			if e.Status == 429 {
				c.counter(kRateLimited, e.RequestInfo, "").Inc()
			}
			c.observer(kAttempt, e.RequestInfo, "").Observe(e.Duration.Seconds())
			if next.OnAttempt != nil {
				next.OnAttempt(e)
			}
		},
		OnWait: func(e pacer.WaitEvent) {
			c.observer(kWait, e.RequestInfo, WaitThrottle).Observe(e.Wait.Seconds())
			if next.OnWait != nil {
				next.OnWait(e)
			}
		},
		OnRetry: func(e pacer.RetryEvent) {
			c.counter(kRetry, e.RequestInfo, retryReason(e.Status)).Inc()
			c.observer(kWait, e.RequestInfo, retryWaitReason(e)).Observe(e.Wait.Seconds())
			if next.OnRetry != nil {
				next.OnRetry(e)
			}
		},
		OnGiveUp: func(e pacer.GiveUpEvent) {
			c.counter(kGiveUp, e.RequestInfo, errorType(e.Err, e.Status)).Inc()
			if next.OnGiveUp != nil {
				next.OnGiveUp(e)
			}
		},
		OnBreaker: func(e pacer.BreakerEvent) {
			c.counter(kBreaker, pacer.RequestInfo{Scope: e.Scope}, e.To.String()).Inc()
			if next.OnBreaker != nil {
				next.OnBreaker(e)
			}
		},
	}
}

// childKey names one series: its metric and (bounded) label values.
type childKey struct {
	metric                      uint8
	scope, route, method, extra string
}

const (
	kSent uint8 = iota
	kRateLimited
	kRetry
	kGiveUp
	kBreaker
	kAttempt
	kWait
)

func (c *Collector) key(metric uint8, r pacer.RequestInfo, extra string) childKey {
	k := childKey{metric: metric, scope: c.scopes.Admit(r.Scope), extra: extra}
	if metric != kBreaker {
		k.route, k.method = c.routes.Admit(r.Route), knownMethod(r.Method)
	}
	return k
}

// child returns the cached series of k, made by mk on first use.
func (c *Collector) child(k childKey, mk func() any) any {
	c.mu.RLock()
	ch, ok := c.children[k]
	c.mu.RUnlock()
	if ok {
		return ch
	}
	ch = mk()
	c.mu.Lock()
	c.children[k] = ch
	c.mu.Unlock()
	return ch
}

func (c *Collector) counter(metric uint8, r pacer.RequestInfo, extra string) prometheus.Counter {
	k := c.key(metric, r, extra)
	return c.child(k, func() any {
		vec := map[uint8]*prometheus.CounterVec{kSent: c.sent, kRateLimited: c.rateLimited, kRetry: c.retries,
			kGiveUp: c.giveUps, kBreaker: c.breakerTx}[metric]
		switch metric {
		case kBreaker:
			return vec.WithLabelValues(k.scope, k.extra)
		case kRateLimited:
			return vec.WithLabelValues(k.scope, k.route, k.method)
		}
		return vec.WithLabelValues(k.scope, k.route, k.method, k.extra)
	}).(prometheus.Counter)
}

func (c *Collector) observer(metric uint8, r pacer.RequestInfo, extra string) prometheus.Observer {
	k := c.key(metric, r, extra)
	return c.child(k, func() any {
		if metric == kAttempt {
			return c.attempts.WithLabelValues(k.scope, k.route, k.method)
		}
		return c.waits.WithLabelValues(k.scope, k.route, k.method, k.extra)
	}).(prometheus.Observer)
}
