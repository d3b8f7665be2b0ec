package pacertest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var origin = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func TestSlidingWindowKeepsOnlyWhatIsInside(t *testing.T) {
	w := newWindow(Sliding, 10*time.Second, origin)
	for i := range 1000 {
		w.add(origin.Add(time.Duration(i) * 100 * time.Millisecond))
	}
	now := origin.Add(99900 * time.Millisecond)
	assert.Equal(t, 100, w.n(now), "the last 10 s hold 100 requests")
	assert.LessOrEqual(t, len(w.times), 200, "expired timestamps are compacted away")
	assert.Equal(t, origin.Add(100*time.Second), w.freeAt(now))
	assert.Equal(t, 0, w.n(origin.Add(time.Hour)))
	assert.Equal(t, 0, len(w.times))
}

func TestFixedIndex(t *testing.T) {
	tests := []struct {
		elapsed time.Duration
		want    int64
	}{
		{0, 0}, {9 * time.Second, 0}, {10 * time.Second, 1}, {-1, -1}, {-10 * time.Second, -1}, {-11 * time.Second, -2},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, fixedIndex(tt.elapsed, 10*time.Second), "%v", tt.elapsed)
	}
}

func TestRecorderCoarsensToStayBounded(t *testing.T) {
	r := newRecorder(origin)
	r.record(accepted, origin)
	r.record(rejected, origin.Add(time.Second))
	r.record(failed, origin.Add(maxBuckets*time.Second)) // one past the end
	require.Len(t, r.buckets, maxBuckets/2+1)
	s := r.series()
	assert.Equal(t, Bucket{Start: origin, Width: 2 * time.Second, Accepted: 1, Rejected: 1}, s[0])
	assert.Equal(t, Bucket{Start: origin.Add(maxBuckets * time.Second), Width: 2 * time.Second, Failed: 1}, s[len(s)-1])

	r.record(accepted, origin.Add(100*maxBuckets*time.Second))
	assert.LessOrEqual(t, len(r.buckets), maxBuckets)
	assert.Equal(t, [3]int{2, 1, 1}, r.counts)
	total := 0
	for _, b := range r.series() {
		total += b.Accepted + b.Rejected + b.Failed
	}
	assert.Equal(t, 4, total, "coarsening loses no request")
}

func TestHumanWindow(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "1 hour", 2 * time.Hour: "2 hours", 60 * time.Second: "1 minute",
		5 * time.Minute: "5 minutes", 90 * time.Second: "90 seconds", 1500 * time.Millisecond: "1.5s",
	} {
		assert.Equal(t, want, humanWindow(d))
	}
}

func TestRounding(t *testing.T) {
	at := origin.Add(1500 * time.Millisecond)
	assert.Equal(t, origin.Unix()+2, ceilUnix(at, time.Second))
	assert.Equal(t, origin.Unix()+1, ceilUnix(origin.Add(time.Second), time.Second), "whole seconds stay")
	assert.Equal(t, at.UnixMilli()+1, ceilUnix(at.Add(time.Nanosecond), time.Millisecond))
	assert.Equal(t, int64(0), ceilSeconds(-time.Second))
	assert.Equal(t, int64(1), ceilSeconds(time.Nanosecond))
	assert.Equal(t, `"a\"b\\c_"`, sfString("a\"b\\c\n"))
}

func TestMostRestrictive(t *testing.T) {
	us := []usage{
		{Limit: Limit{Name: "a"}, remaining: 5, reset: origin.Add(time.Minute)},
		{Limit: Limit{Name: "b"}, remaining: 2, reset: origin.Add(time.Second)},
		{Limit: Limit{Name: "c"}, remaining: 2, reset: origin.Add(time.Hour)},
	}
	assert.Equal(t, "c", mostRestrictive(us).Name)
}
