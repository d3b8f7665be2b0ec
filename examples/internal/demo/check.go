package demo

// Check is what is known of a run's creates: with Verified, what the
// embedded server's evidence shows; without it (a real API, whose records
// cannot be seen from here), what the client's own results say.
type Check struct {
	// Lost is the number of items never created; Duplicated the number
	// created more than once, which only the evidence shows (0 when not
	// Verified).
	Lost, Duplicated int
	// MaxInWindow is the most requests the embedded server accepted in one
	// window of the documented limit (0 when not Verified).
	MaxInWindow int
	// Verified tells whether the figures come from the embedded server's
	// evidence.
	Verified bool
}

// Verify returns the Check of a run that created ids. For the embedded
// server it compares them with the server's evidence; for a real API it
// reports lostByClient, the number of ids the client saw no 2xx answer for.
func (a API) Verify(ids []string, lostByClient int) Check {
	if a.Server == nil {
		return Check{Lost: lostByClient}
	}
	ev := a.Server.Evidence()
	return Check{Lost: len(ev.Missing(ids)), Duplicated: len(ev.CreatedTwice),
		MaxInWindow: ev.MaxInWindow(a.LimitName), Verified: true}
}

// Source says, for a summary line, where the figures come from.
func (c Check) Source() string {
	if c.Verified {
		return "from the embedded API's evidence"
	}
	return "client-side results only"
}
