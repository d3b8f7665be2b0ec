package pacer

import (
	"strings"
	"time"
)

// Bounds on what one parse reads, so that a hostile server's fields cost
// time linear in their size and a small constant in their member count:
// members past these are ignored.
const (
	maxMembers = 64 // members read from each structured field (all its lines)
	maxItems   = 64 // lines read of each other field, and items of each line
)

// sfMember is one member of a structured field (RFC 8941) List or
// Dictionary, read loosely: its item (an unquoted String or a Token) or, for
// a dictionary member, its key and value; and its parameters, kept as raw
// text and read on demand by param.
type sfMember struct {
	item       string
	integer    bool   // the item is an Integer, not a name ("20;w=1", drafts 6 and 7)
	key, value string // set for dictionary members (key=value)
	params     string // ";"-separated parameters after the item, unparsed
}

// param returns the value of the member's parameter name (lower case), or
// "" when it has none. A repeated parameter takes its last value, as RFC
// 8941 says.
func (m sfMember) param(name string) string {
	var v string
	for p := range pieces(m.params, ';') {
		k, val, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), name) {
			v = unquote(val)
		}
	}
	return v
}

// policyTerms is what RateLimit-Policy says about one policy: the smallest
// positive quota and the shortest valid window among its members.
type policyTerms struct {
	limit  int
	window time.Duration
}

// add folds one RateLimit-Policy member's quota and window w into t.
func (t policyTerms) add(quota int, w string) policyTerms {
	if quota > 0 && (t.limit == 0 || quota < t.limit) {
		t.limit = quota
	}
	if d, ok := parseWindow(w); ok && (t.window == 0 || d < t.window) {
		t.window = d
	}
	return t
}

// fill gives rl the terms' Window, and their Limit when rl has none.
func (t policyTerms) fill(rl RateLimit) RateLimit {
	if rl.Limit == 0 {
		rl.Limit = t.limit
	}
	if rl.Window == 0 {
		rl.Window = t.window
	}
	return rl
}

// policyIndex folds the members of RateLimit-Policy: named ones
// ("default";q=100;w=60) by name, and the drafts' unnamed ones (20;w=1) into
// draft.
func policyIndex(policies []sfMember) (named map[string]policyTerms, draft policyTerms) {
	for _, p := range policies {
		switch {
		case p.key != "":
		case p.integer:
			quota, _ := parseCount(p.item)
			draft = draft.add(quota, p.param("w"))
		default:
			if named == nil {
				named = make(map[string]policyTerms, len(policies))
			}
			quota, _ := parseCount(p.param("q"))
			named[p.item] = named[p.item].add(quota, p.param("w"))
		}
	}
	return named, draft
}

// structuredLimits reads the IETF RateLimit field: members naming a policy
// ("default";r=50;t=30), matched by name with the RateLimit-Policy field
// ("default";q=100;w=60) for Limit and Window, and the older dictionary form
// (limit=100, remaining=50, reset=30) with the terms of an unnamed policy
// (20;w=1). Members repeating a policy name are merged conservatively. Each
// member is looked up once in the index of the policies.
func structuredLimits(f headerFields, st *serverTime, named map[string]policyTerms, draft policyTerms) []RateLimit {
	members := sfMembers(f.get("Ratelimit"))
	if len(members) == 0 {
		return nil
	}
	var out []RateLimit
	if rl, ok := dictionaryLimit(members, st); ok {
		out = append(out, clampRemaining(draft.fill(rl)))
	}
	seen := map[string]int{} // policy name → index in out
	for _, m := range members {
		rl, ok := namedLimit(m, named, st)
		if !ok {
			continue
		}
		if i, dup := seen[m.item]; dup {
			out[i] = mergeLimits(out[i], rl)
			continue
		}
		seen[m.item] = len(out)
		out = append(out, rl)
	}
	return out
}

// namedLimit reads a "name";r=…;t=… member, with Limit (q) and Window (w)
// from the policy of the same name. ok is false without a valid r.
func namedLimit(m sfMember, named map[string]policyTerms, st *serverTime) (RateLimit, bool) {
	if m.key != "" {
		return RateLimit{}, false
	}
	remaining, ok := parseCount(m.param("r"))
	if !ok {
		return RateLimit{}, false
	}
	rl := named[m.item].fill(RateLimit{Remaining: remaining, Pool: poolName([]string{m.item})})
	rl.Reset, _ = parseWhen(m.param("t"), st)
	return clampRemaining(rl), true
}

// parseWindow reads a window length: seconds ("60", "0.5") or a Go duration
// ("1m"). ok is false for zero, garbage, and lengths too long for a Duration.
func parseWindow(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if n, ok := parseDecimal(s); ok {
		w, fits := n.duration()
		return w, fits && w > 0
	}
	w, err := time.ParseDuration(s)
	return w, err == nil && w > 0
}

// dictionaryLimit reads the older draft's limit=…, remaining=…, reset=…
// members as one unnamed policy.
func dictionaryLimit(members []sfMember, st *serverTime) (RateLimit, bool) {
	var limits, remainings, resets []string
	for _, m := range members {
		switch m.key {
		case "limit":
			limits = append(limits, m.value)
		case "remaining":
			remainings = append(remainings, m.value)
		case "reset":
			resets = append(resets, m.value)
		}
	}
	return foldLimit(limits, remainings, resets, st)
}

// mergeLimits combines two reports of one policy: the fewer remaining and
// the later reset.
func mergeLimits(a, b RateLimit) RateLimit {
	a.Remaining = min(a.Remaining, b.Remaining)
	if b.Reset.After(a.Reset) {
		a.Reset = b.Reset
	}
	return a
}

// sfMembers splits the field lines of a structured List or Dictionary into
// members, respecting quoted strings, and stops after maxMembers members.
func sfMembers(lines []string) []sfMember {
	var out []sfMember
	for _, line := range lines {
		for raw := range pieces(line, ',') {
			if len(out) == maxMembers {
				return out
			}
			head, params, _ := cutUnquoted(raw, ';')
			var m sfMember
			if k, v, isDict := strings.Cut(head, "="); isDict && !strings.HasPrefix(head, `"`) {
				m.key, m.value = strings.ToLower(strings.TrimSpace(k)), unquote(v)
			} else {
				m.item, m.integer = unquote(head), allDigits(strings.TrimSpace(head))
			}
			m.params = params
			out = append(out, m)
		}
	}
	return out
}

// pieces yields the trimmed, non-empty pieces of s between the seps outside
// double-quoted strings, lazily: a caller that stops early reads no further.
func pieces(s string, sep byte) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for s != "" {
			var piece string
			piece, s, _ = cutUnquoted(s, sep)
			if piece = strings.TrimSpace(piece); piece != "" && !yield(piece) {
				return
			}
		}
	}
}

// cutUnquoted slices s around the first sep outside a double-quoted string.
func cutUnquoted(s string, sep byte) (before, after string, found bool) {
	quoted, escaped := false, false
	for i := 0; i < len(s); i++ {
		switch {
		case escaped:
			escaped = false
		case quoted && s[i] == '\\':
			escaped = true
		case s[i] == '"':
			quoted = !quoted
		case !quoted && s[i] == sep:
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// unquote trims s and removes the quotes and escapes of a String; other
// values are returned trimmed.
func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	if !strings.Contains(s, `\`) {
		return s[1 : len(s)-1]
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '\\' && i+1 < len(s)-1 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
