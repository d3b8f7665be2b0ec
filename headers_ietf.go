package pacer

import (
	"strings"
	"time"
)

// sfMember is one member of a structured field (RFC 8941) List or
// Dictionary, read loosely: its item (an unquoted String or a Token) or, for
// a dictionary member, its key and value; and its parameters.
type sfMember struct {
	item       string
	key, value string // set for dictionary members (key=value)
	params     map[string]string
}

// structuredLimits reads the IETF RateLimit field: members naming a policy
// ("default";r=50;t=30), matched by name with the RateLimit-Policy field
// ("default";q=100;w=60) for Limit and Window, and the older dictionary form
// (limit=100, remaining=50, reset=30). Members repeating a policy name are
// merged conservatively.
func structuredLimits(f headerFields, st *serverTime) []RateLimit {
	members := sfMembers(f.get("Ratelimit"))
	if len(members) == 0 {
		return nil
	}
	var out []RateLimit
	if rl, ok := dictionaryLimit(members, st); ok {
		out = append(out, rl)
	}
	policies := sfMembers(f.get("Ratelimit-Policy"))
	seen := map[string]int{} // policy name → index in out
	for _, m := range members {
		rl, ok := namedLimit(m, policies, st)
		if !ok {
			continue
		}
		if i, dup := seen[rl.Policy]; dup {
			out[i] = mergeLimits(out[i], rl)
			continue
		}
		seen[rl.Policy] = len(out)
		out = append(out, rl)
	}
	return out
}

// namedLimit reads a "name";r=…;t=… member, with Limit (q) and Window (w)
// from the policy of the same name. ok is false without a valid r.
func namedLimit(m sfMember, policies []sfMember, st *serverTime) (RateLimit, bool) {
	if m.key != "" {
		return RateLimit{}, false
	}
	var limits, windows []string
	for _, p := range policies {
		if p.key == "" && p.item == m.item {
			limits, windows = append(limits, p.params["q"]), append(windows, p.params["w"])
		}
	}
	rl, ok := foldLimit(limits, []string{m.params["r"]}, []string{m.params["t"]}, st)
	rl.Policy = m.item
	rl.Window = minWindow(windows)
	return rl, ok
}

// minWindow returns the shortest valid window (seconds) among values, or 0.
func minWindow(values []string) time.Duration {
	var w time.Duration
	for _, v := range values {
		n, ok := parseDecimal(v)
		if s, fits := n.duration(); ok && fits && s > 0 && (w == 0 || s < w) {
			w = s
		}
	}
	return w
}

// dictionaryLimit reads the older draft's limit=…, remaining=…, reset=…
// members as one unnamed policy.
func dictionaryLimit(members []sfMember, st *serverTime) (RateLimit, bool) {
	fields := map[string][]string{}
	for _, m := range members {
		fields[m.key] = append(fields[m.key], m.value)
	}
	return foldLimit(fields["limit"], fields["remaining"], fields["reset"], st)
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
// members, respecting quoted strings.
func sfMembers(lines []string) []sfMember {
	var out []sfMember
	for _, line := range lines {
		for _, raw := range splitUnquoted(line, ',') {
			parts := splitUnquoted(raw, ';')
			if len(parts) == 0 {
				continue
			}
			m := sfMember{params: map[string]string{}}
			if k, v, isDict := strings.Cut(parts[0], "="); isDict && !strings.HasPrefix(parts[0], `"`) {
				m.key, m.value = strings.ToLower(strings.TrimSpace(k)), unquote(v)
			} else {
				m.item = unquote(parts[0])
			}
			for _, p := range parts[1:] {
				k, v, _ := strings.Cut(p, "=")
				m.params[strings.ToLower(strings.TrimSpace(k))] = unquote(v)
			}
			out = append(out, m)
		}
	}
	return out
}

// splitUnquoted splits s at each sep outside double-quoted strings and
// returns the trimmed, non-empty pieces.
func splitUnquoted(s string, sep byte) []string {
	var out []string
	quoted, escaped, start := false, false, 0
	for i := 0; i <= len(s); i++ {
		switch {
		case i == len(s) || !quoted && s[i] == sep:
			if piece := strings.TrimSpace(s[start:i]); piece != "" {
				out = append(out, piece)
			}
			start = i + 1
		case escaped:
			escaped = false
		case quoted && s[i] == '\\':
			escaped = true
		case s[i] == '"':
			quoted = !quoted
		}
	}
	return out
}

// unquote trims s and removes the quotes and escapes of a String; other
// values are returned trimmed.
func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '\\' && i+1 < len(s)-1 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
