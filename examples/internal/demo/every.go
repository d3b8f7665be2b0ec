package demo

import (
	"sync"
	"time"
)

// Every calls f every interval of real time on a goroutine of its own until
// the returned stop function is called. stop waits for a running f to
// return, so after it f is never called again; calling stop more than once
// is safe. Use it for human-facing refreshes (progress, queue depth), never
// for synchronisation.
func Every(interval time.Duration, f func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				f()
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}
