package redisbudget

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pacerhq/pacer"
)

// window is one configured budget of a scope, in whole microseconds.
type window struct {
	limit int
	us    int64
}

// windowsOf returns the ticket's budgets that limit something, one per
// window length (the smallest limit wins), shortest window first.
func windowsOf(bs []pacer.Budget) []window {
	var ws []window
	for _, b := range bs {
		if b.Limit <= 0 || b.Window <= 0 {
			continue
		}
		w := window{limit: b.Limit, us: ceilMicros(b.Window)}
		i := slices.IndexFunc(ws, func(x window) bool { return x.us == w.us })
		if i < 0 {
			ws = append(ws, w)
		} else {
			ws[i].limit = min(ws[i].limit, w.limit)
		}
	}
	slices.SortFunc(ws, func(a, b window) int { return int(a.us - b.us) })
	return ws
}

// paceMicros is the spacing Ticket.Pace asks for: the longest of Window/Limit.
func paceMicros(ws []window) int64 {
	var p int64
	for _, w := range ws {
		p = max(p, w.us/int64(w.limit))
	}
	return p
}

// keys names the Redis keys of one scope. The scope is hashed so that no
// caller-chosen text reaches a key, and the hash sits in braces (a Redis
// Cluster hash tag) so that every key of a scope lives in one slot and a
// script may touch them all.
type keys struct{ base string }

func keysOf(prefix, scope string) keys {
	sum := sha256.Sum256([]byte(scope))
	return keys{base: prefix + "{" + hex.EncodeToString(sum[:12]) + "}:"}
}

// slot is the Redis Cluster hash slot of the scope's keys: CRC16 (XMODEM)
// of the hash tag, modulo 16384.
func (k keys) slot() uint16 {
	tag := k.base[strings.IndexByte(k.base, '{')+1 : strings.IndexByte(k.base, '}')]
	var crc uint16
	for i := 0; i < len(tag); i++ {
		crc ^= uint16(tag[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc % 16384
}

func (k keys) learned() string  { return k.base + "learned" }
func (k keys) inFlight() string { return k.base + "inflight" }
func (k keys) caps() string     { return k.base + "caps" }
func (k keys) pace() string     { return k.base + "pace" }
func (k keys) epoch() string    { return k.base + "epoch" }
func (k keys) routes() string   { return k.base + "routes" }
func (k keys) pools() string    { return k.base + "pools" }
func (k keys) window(us int64) string {
	return k.base + "w" + strconv.FormatInt(us, 10)
}

// Slot ids: "r<member>/<window µs>,..." for slots granted by Redis (the
// windows are needed again by Observe), "m<id>" for slots granted by the
// fallback store, whose own id follows.
const (
	redisTag    = "r"
	fallbackTag = "m"
)

func redisSlotID(member string, ws []window) string {
	var b strings.Builder
	b.WriteString(redisTag)
	b.WriteString(member)
	b.WriteByte('/')
	for i, w := range ws {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(w.us, 10))
	}
	return b.String()
}

// withCharge appends to a Redis slot id what Observe needs to learn the
// route's pool and release the grant from the pools it was charged to: the
// ticket's route, the pool's answer count at the grant (markP) and the
// pool ("" every pool). The pool comes last: it is the server's text.
func withCharge(id string, route uint64, markP int64, pool string) string {
	return id + "|" + strconv.FormatUint(route, 10) + "|" + strconv.FormatInt(markP, 10) + "|" + pool
}

// chargeOf returns what withCharge appended to id: zeros and "" (every
// pool) for an id without it.
func chargeOf(id string) (route uint64, markP int64, pool string) {
	_, rest, ok := strings.Cut(id, "|")
	if !ok {
		return 0, 0, ""
	}
	r, rest, _ := strings.Cut(rest, "|")
	m, pool, _ := strings.Cut(rest, "|")
	route, _ = strconv.ParseUint(r, 10, 64)
	markP, _ = strconv.ParseInt(m, 10, 64)
	return route, markP, pool
}

// parseRedisSlotID returns the member and window lengths of a Redis slot id.
func parseRedisSlotID(id string) (member string, ws []int64, ok bool) {
	id, _, _ = strings.Cut(id, "|")
	rest, ok := strings.CutPrefix(id, redisTag)
	if !ok {
		return "", nil, false
	}
	member, list, ok := strings.Cut(rest, "/")
	if !ok || member == "" {
		return "", nil, false
	}
	for f := range strings.SplitSeq(list, ",") {
		if f == "" {
			continue
		}
		us, err := strconv.ParseInt(f, 10, 64)
		if err != nil || us <= 0 {
			return "", nil, false
		}
		ws = append(ws, us)
	}
	return member, ws, true
}

// ceilMicros is d in whole microseconds, rounded up.
func ceilMicros(d time.Duration) int64 {
	us := int64(d / time.Microsecond)
	if d%time.Microsecond > 0 {
		us++
	}
	return us
}

// stamp is "now" as a script sees it: the caller's clock reading, passed in
// microseconds, or Redis's TIME (server). Absolute times are handed to the
// script as offsets from that now, rounded up so that a slot is never
// released early by rounding.
type stamp struct {
	now    time.Time
	server bool
}

// arg is the script's ARGV "now": microseconds, or "" to read TIME.
func (s stamp) arg() any {
	if s.server {
		return ""
	}
	return s.now.UnixMicro()
}

// offset is t minus the script's now, in microseconds rounded up.
func (s stamp) offset(t time.Time) int64 {
	if s.server {
		return ceilMicros(t.Sub(s.now))
	}
	us := t.UnixMicro()
	if t.After(time.UnixMicro(us)) {
		us++ // UnixMicro dropped sub-microsecond digits
	}
	return us - s.now.UnixMicro()
}
