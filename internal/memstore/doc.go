// Package memstore is pacer's in-memory budget store: configured sliding
// and fixed windows, pacing, limits learned from response headers (per server-side
// pool), the hold after bare 429s, limits inferred from a header-less
// server's lockout, adaptive mode, the fair wait queue and
// idle eviction. The root package reaches it only through pacer.Store
// (MemoryStore converts its Ticket, Slot and Outcome to this package's
// mirrors, by value), so a store shared across processes is a drop-in
// replacement.
//
// Files: store.go (Store, Reserve, Observe, Usage), scope.go (one scope's
// state and its grant gate), queue.go (the wait and the per-pool wait
// queues), window.go (exact sliding windows), fixed.go (fixed windows
// aligned by the server's reset), pace.go (even spacing),
// learned.go and pool.go (limits learned per server-side pool),
// resets.go (whole-second resets read as approximate), slide.go (servers
// whose windows slide: the counter run client-side), bare429.go (the hold after bare 429s), infer.go (a header-less
// server's limit inferred from its lockout), adaptive.go (AIMD), evict.go
// (forgetting idle scopes), types.go (the mirrored seam types).
package memstore
