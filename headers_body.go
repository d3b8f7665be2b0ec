package pacer

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"strings"
	"time"
)

// bodyHintLimit is how many bytes of a response body peekBodyHint reads
// (body.go).
const bodyHintLimit = 4 << 10

// bodyHintDepth is how deeply nested a hint may sit in a JSON body.
const bodyHintDepth = 16

// jsonBody reports whether the fields describe a body worth inspecting:
// JSON (or untyped) and not content-encoded.
func jsonBody(f headerFields) bool {
	for _, enc := range f.get("Content-Encoding") {
		if e := strings.TrimSpace(enc); e != "" && !strings.EqualFold(e, "identity") {
			return false
		}
	}
	ct := f.get("Content-Type")
	if len(ct) == 0 {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct[0])
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// parseBodyHint finds a wait in the JSON body of a 429 response, as of now,
// and returns it as the server said it, not capped (a reset in the past
// gives 0; a wait too long for a time.Duration is not valid). It looks, at
// any depth, for the first value under a retry-after key (retryAfter,
// retry_after, retry-after, any case, also with a "Seconds" suffix) and else
// under a reset key (reset, resetAt, reset_at); values are numbers or strings
// read like an X-RateLimit-Reset value (see ParseRateLimit):
//
//	{"retryAfter":60}                          60 s
//	{"retry_after":1.5}                        1.5 s
//	{"error":{"details":{"retryAfter":60}}}    60 s
//	{"reset":"2025-10-29T16:30:00.000Z"}       until that time
//
// A body cut short (a prefix) is read as far as it goes. Anything else,
// including non-JSON bodies, gives (0, false).
func parseBodyHint(body []byte, now time.Time) (time.Duration, bool) {
	return bodyHint(body, localTime(now))
}

func bodyHint(body []byte, st *serverTime) (time.Duration, bool) {
	s := hintScan{st: st}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	_ = s.value(dec, "", 0) // a truncated or broken body keeps what was found
	if s.hasRetry {
		return s.retry, true
	}
	return s.reset, s.hasReset
}

// hintScan walks a JSON value, keeping the first retry and reset hints.
type hintScan struct {
	st                 *serverTime
	retry, reset       time.Duration
	hasRetry, hasReset bool
}

var errHintTooDeep = errors.New("pacer: JSON body nested too deeply")

// value reads one JSON value, found under key, from dec.
func (s *hintScan) value(dec *json.Decoder, key string, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if _, isDelim := tok.(json.Delim); isDelim && depth >= bodyHintDepth {
		return errHintTooDeep
	}
	switch tok {
	case json.Delim('{'):
		return s.container(dec, true, depth+1)
	case json.Delim('['):
		return s.container(dec, false, depth+1)
	}
	s.record(key, tok)
	return nil
}

// container reads the members of an object or array up to its closing
// delimiter.
func (s *hintScan) container(dec *json.Decoder, object bool, depth int) error {
	for dec.More() {
		var key string
		if object {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ = tok.(string)
		}
		if err := s.value(dec, key, depth); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

// record keeps tok when key names a hint not yet found and tok reads as one.
func (s *hintScan) record(key string, tok json.Token) {
	var v string
	switch t := tok.(type) {
	case json.Number:
		v = string(t)
	case string:
		v = t
	default:
		return
	}
	switch hintKind(key) {
	case "retry":
		if !s.hasRetry {
			s.retry, s.hasRetry = s.wait(v)
		}
	case "reset":
		if !s.hasReset {
			s.reset, s.hasReset = s.wait(v)
		}
	}
}

// wait reads a hint value like an X-RateLimit-Reset value and returns the
// wait until then.
func (s *hintScan) wait(v string) (time.Duration, bool) {
	t, ok := parseWhen(v, s.st)
	if !ok {
		return 0, false
	}
	return waitUntil(t, s.st.now)
}

// hintKeySeparators removes the separators of snake_case and kebab-case keys.
var hintKeySeparators = strings.NewReplacer("_", "", "-", "")

// hintKind classifies a JSON key as "retry", "reset" or "".
func hintKind(key string) string {
	switch strings.ToLower(hintKeySeparators.Replace(key)) {
	case "retryafter", "retryafterseconds":
		return "retry"
	case "reset", "resetat":
		return "reset"
	}
	return ""
}
