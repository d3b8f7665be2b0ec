package pacertest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
)

// maxBody caps the request bodies the items API reads, in bytes.
const maxBody = 16 << 20

// headerReplayed marks a response replayed for a repeated Idempotency-Key.
const headerReplayed = "Idempotent-Replayed"

// itemsApp is the items API of the package documentation. It is safe for
// concurrent use by multiple goroutines.
type itemsApp struct {
	bulkMax int

	mu      sync.Mutex
	created map[string]int    // item id → times created
	replies map[string]stored // API key + "\n" + Idempotency-Key → response
}

// stored is a response kept for idempotent replay.
type stored struct {
	status int
	body   []byte
}

func newItemsApp(bulkMax int) *itemsApp {
	return &itemsApp{bulkMax: bulkMax, created: map[string]int{}, replies: map[string]stored{}}
}

func (a *itemsApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Query().Has("id") {
		a.lookup(w, r.URL.Query().Get("id"))
		return
	}
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "path": r.URL.Path})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	idem := r.Header.Get("Idempotency-Key")
	key := apiKey(r) + "\n" + idem
	if s, ok := a.replies[key]; ok && idem != "" {
		w.Header().Set(headerReplayed, "true")
		writeRaw(w, s.status, s.body)
		return
	}
	status, out := a.post(r.URL.Path, body)
	if idem != "" {
		a.replies[key] = stored{status, out}
	}
	writeRaw(w, status, out)
}

// post handles a POST body; a.mu is held.
func (a *itemsApp) post(path string, body []byte) (int, []byte) {
	if strings.HasSuffix(path, "/bulk") {
		return a.bulk(body)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return http.StatusOK, mustJSON(map[string]any{"ok": true})
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return http.StatusBadRequest, mustJSON(map[string]any{"error": "body must be a JSON object"})
	}
	id, ok := obj["id"].(string)
	if !ok || id == "" {
		return http.StatusOK, mustJSON(obj)
	}
	a.created[id]++
	return http.StatusCreated, mustJSON(obj)
}

// lookup answers whether item id exists: 200 with the times it was
// created, or 404.
func (a *itemsApp) lookup(w http.ResponseWriter, id string) {
	a.mu.Lock()
	n := a.created[id]
	a.mu.Unlock()
	if n == 0 {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "no such item", "id": id})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "created": n})
}

// bulk creates every item of a JSON array; a.mu is held.
func (a *itemsApp) bulk(body []byte) (int, []byte) {
	var items []map[string]any
	if err := json.Unmarshal(body, &items); err != nil {
		return http.StatusBadRequest, mustJSON(map[string]any{"error": "body must be a JSON array of objects"})
	}
	if a.bulkMax > 0 && len(items) > a.bulkMax {
		return http.StatusRequestEntityTooLarge, mustJSON(map[string]any{"error": "too many items", "max": a.bulkMax})
	}
	ids := make([]string, len(items))
	for i, it := range items {
		id, ok := it["id"].(string)
		if !ok || id == "" {
			return http.StatusBadRequest, mustJSON(map[string]any{"error": "every item needs an \"id\" string", "index": i})
		}
		ids[i] = id
	}
	for _, id := range ids {
		a.created[id]++
	}
	return http.StatusCreated, mustJSON(map[string]any{"created": len(ids), "items": items})
}

// createdCounts returns a copy of the created-item counts.
func (a *itemsApp) createdCounts() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]int, len(a.created))
	for id, n := range a.created {
		out[id] = n
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) { writeRaw(w, status, mustJSON(v)) }

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client may be gone; nothing to do
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // values built from decoded JSON always marshal
	}
	return append(b, '\n')
}
