package pacerotel

import "github.com/pacerhq/pacer/internal/labels"

// The classification of events into label values is shared with the other
// integration (pacerprom), so that the two label alike: see internal/labels.

const other = labels.Other

// Wait reasons: why a request waited.
const (
	// WaitThrottle: queued for a slot in its scope's budget (pacer's own
	// throttling, before sending).
	WaitThrottle = labels.WaitThrottle
	// WaitServer: before a retry, for as long as the server said
	// (Retry-After, a body hint, the reset of an exhausted window).
	WaitServer = labels.WaitServer
	// WaitBackoff: before a retry, exponential backoff (the server gave no
	// hint).
	WaitBackoff = labels.WaitBackoff
)

var (
	knownMethod     = labels.KnownMethod
	statusClass     = labels.StatusClass
	retryReason     = labels.RetryReason
	retryWaitReason = labels.RetryWaitReason
	errorType       = labels.ErrorType
	newBounded      = labels.NewBounded
	worse           = labels.Worse
)

type bounded = labels.Bounded
