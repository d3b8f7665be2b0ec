package pacer

// newStore returns the configured store, or a MemoryStore on the
// transport's clock with the queue and learning options applied.
func (c *config) newStore() Store {
	if c.store != nil {
		return c.store
	}
	return &MemoryStore{Clock: c.clock, QueueLimit: c.queueLimit, IgnoreServerLimits: c.noLearning,
		Adaptive: c.adaptive}
}
