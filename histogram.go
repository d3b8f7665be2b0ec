package pacer

import (
	"math/bits"
	"time"
)

// histogram records durations in log-linear buckets: eight per power of two,
// so a quantile read from it is within 12.5% of the true value. It takes a
// fixed 2 KiB however many durations it records. Not safe for concurrent
// use; the tracker guards it.
type histogram struct {
	counts [64 * subBuckets]uint32
	n      int64
	total  time.Duration
	max    time.Duration
}

const subBits = 3
const subBuckets = 1 << subBits

func (h *histogram) record(d time.Duration) {
	d = max(d, 0)
	h.counts[bucketOf(uint64(d))]++
	h.n++
	h.total += d
	h.max = max(h.max, d)
}

func bucketOf(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	e := bits.Len64(v) - 1 // v in [2^e, 2^(e+1))
	sub := (v >> (e - subBits)) & (subBuckets - 1)
	return (e-subBits+1)*subBuckets + int(sub)
}

// upperBound is the largest value that falls in bucket i.
func upperBound(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	e := i/subBuckets + subBits - 1
	sub := uint64(i % subBuckets)
	lo := (uint64(1) << e) | sub<<(e-subBits)
	return lo + (uint64(1) << (e - subBits)) - 1
}

// quantile returns an upper bound of the q-quantile (0 < q <= 1), never more
// than the largest duration recorded.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		seen += int64(c)
		if seen >= rank {
			return min(time.Duration(upperBound(i)), h.max)
		}
	}
	return h.max
}
