package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/pacerhq/pacer/examples/integration/campaigns"
)

// fakeAPI is the application the embedded server puts behind its rate
// limiter: a few campaigns and the leads added to them. Like the real API it
// honours Idempotency-Key on creates (a repeated key gets the first answer
// and creates nothing), and it records how often each lead's email was
// created, the evidence that nothing was lost or created twice. It is safe
// for concurrent use by multiple goroutines.
type fakeAPI struct {
	mux *http.ServeMux

	mu        sync.Mutex
	campaigns []campaigns.Campaign
	created   map[string]int    // lead email → times created
	replies   map[string][]byte // Idempotency-Key → the answer given
	leads     map[string]int    // campaign id → leads
}

func newFakeAPI(n int) *fakeAPI {
	f := &fakeAPI{mux: http.NewServeMux(), created: map[string]int{},
		replies: map[string][]byte{}, leads: map[string]int{}}
	for i := range n {
		f.campaigns = append(f.campaigns, campaigns.Campaign{
			ID: fmt.Sprintf("c%d", i+1), Name: fmt.Sprintf("Campaign %d", i+1), Status: "active"})
	}
	f.mux.HandleFunc("GET /v1/campaigns", f.list)
	f.mux.HandleFunc("GET /v1/campaigns/{id}", f.get)
	f.mux.HandleFunc("GET /v1/campaigns/{id}/statistics", f.statistics)
	f.mux.HandleFunc("POST /v1/leads/add_to_campaign", f.addLead)
	return f
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.mux.ServeHTTP(w, r) }

func (f *fakeAPI) list(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reply(w, http.StatusOK, map[string]any{"data": f.campaigns})
}

func (f *fakeAPI) get(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.find(r.PathValue("id")); ok {
		reply(w, http.StatusOK, c)
		return
	}
	reply(w, http.StatusNotFound, map[string]string{"error": "campaign not found"})
}

func (f *fakeAPI) statistics(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := r.PathValue("id")
	if _, ok := f.find(id); !ok {
		reply(w, http.StatusNotFound, map[string]string{"error": "campaign not found"})
		return
	}
	reply(w, http.StatusOK, campaigns.Statistics{CampaignID: id, Leads: f.leads[id]})
}

func (f *fakeAPI) addLead(w http.ResponseWriter, r *http.Request) {
	var l campaigns.Lead
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&l); err != nil || l.Email == "" {
		reply(w, http.StatusBadRequest, map[string]string{"error": "body must be a lead with an email"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := r.Header.Get("Idempotency-Key")
	if prev, ok := f.replies[key]; ok && key != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write(prev) //nolint:errcheck // the client may be gone
		return
	}
	if _, ok := f.find(l.CampaignID); !ok {
		reply(w, http.StatusNotFound, map[string]string{"error": "campaign not found"})
		return
	}
	f.created[l.Email]++
	f.leads[l.CampaignID]++
	l.ID = fmt.Sprintf("lead-%d", len(f.created))
	body := reply(w, http.StatusCreated, l)
	if key != "" {
		f.replies[key] = body
	}
}

// find returns the campaign id; f.mu is held.
func (f *fakeAPI) find(id string) (campaigns.Campaign, bool) {
	for _, c := range f.campaigns {
		if c.ID == id {
			return c, true
		}
	}
	return campaigns.Campaign{}, false
}

// check counts the emails never created and those created more than once.
func (f *fakeAPI) check(emails []string) (lost, duplicated int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range emails {
		switch n := f.created[e]; {
		case n == 0:
			lost++
		case n > 1:
			duplicated++
		}
	}
	return lost, duplicated
}

// reply writes v as JSON with status and returns the body written.
func reply(w http.ResponseWriter, status int, v any) []byte {
	body, _ := json.Marshal(v) // the API's own types always marshal
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client may be gone
	return body
}
