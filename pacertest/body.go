package pacertest

import (
	"encoding/json"
	"fmt"
	"time"
)

// rateLimitMessage is the human text of JSON 429 bodies.
const rateLimitMessage = "Rate limit exceeded. Please try again later."

// body429 returns the content type and body of a 429 response of shape for
// a rejection d at now.
func body429(shape BodyShape, d decision, now time.Time) (contentType string, body []byte) {
	u := binding(d)
	wait := ceilSeconds(d.retryAt.Sub(now))
	var v any
	switch shape {
	case BodyEmpty:
		return "", nil
	case BodyRetryAfterJSON:
		v = map[string]any{"retryAfter": wait}
	case BodyDemeterrr:
		v = map[string]any{"error": map[string]any{
			"code":    "RATE_LIMIT_EXCEEDED",
			"message": rateLimitMessage,
			"details": map[string]any{
				"retryAfter": wait,
				"limit":      u.Requests,
				"window":     humanWindow(u.Window),
			},
		}}
	case BodyLupitor:
		v = map[string]any{
			"success":   false,
			"data":      nil,
			"error":     rateLimitMessage,
			"limit":     u.Requests,
			"remaining": u.remaining,
			"reset":     time.UnixMilli(ceilUnix(u.reset, time.Millisecond)).UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		}
	case BodyLumail:
		v = map[string]any{"message": "Too many requests", "docs": "rate-limits"}
	default:
		return "text/plain; charset=utf-8", []byte("Too Many Requests\n")
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // maps of basic values always marshal
	}
	return "application/json", append(b, '\n')
}

// binding returns the exhausted usage that sets the retry time: the one with
// the latest reset. It returns the zero usage if none is exhausted.
func binding(d decision) usage {
	var best usage
	for _, u := range d.usages {
		if u.exhausted && (best.Requests == 0 || u.reset.After(best.reset)) {
			best = u
		}
	}
	return best
}

// humanWindow renders a window the way vendor bodies do: "1 hour",
// "5 minutes", "30 seconds".
func humanWindow(w time.Duration) string {
	for _, unit := range []struct {
		d    time.Duration
		name string
	}{{time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}} {
		if w >= unit.d && w%unit.d == 0 {
			n := int64(w / unit.d)
			if n == 1 {
				return "1 " + unit.name
			}
			return fmt.Sprintf("%d %ss", n, unit.name)
		}
	}
	return w.String()
}
