package pacer

import "context"

// Priorities for ContextWithPriority. Any int works; higher is served first.
const (
	PriorityBulk        = -10
	PriorityNormal      = 0
	PriorityInteractive = 10
)

type priorityKey struct{}

// ContextWithPriority returns a context whose requests wait in their scope's
// queue ahead of requests of lower priority (FIFO among equals). Use it to
// let interactive calls overtake a bulk job sharing the same budget.
func ContextWithPriority(ctx context.Context, p int) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityOf returns the priority set by ContextWithPriority (PriorityNormal
// if none).
func PriorityOf(ctx context.Context) int {
	p, _ := ctx.Value(priorityKey{}).(int)
	return p
}
