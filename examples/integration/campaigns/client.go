// Package campaigns is a small typed client for the campaigns API of
// campaigns-api.txt, built on pacer: every method waits for its endpoint's
// documented budget instead of running into 429s, and retries what is safe
// to retry.
//
// A Client is safe for concurrent use by multiple goroutines.
package campaigns

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/pacerhq/pacer"
)

// Campaign is a campaign as the API returns it.
type Campaign struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

// Statistics are a campaign's figures.
type Statistics struct {
	CampaignID string `json:"campaign_id"`
	Leads      int    `json:"leads"`
}

// Lead is a lead added to a campaign. ID is assigned by the API.
type Lead struct {
	ID         string `json:"id,omitempty"`
	CampaignID string `json:"campaign_id"`
	Email      string `json:"email"`
	Name       string `json:"name,omitempty"`
}

// Error is an error answer of the API (any status but 2xx, after pacer's
// retries). A request refused for the rate limit is a *pacer.RateLimitError
// instead, which tells when to retry.
type Error struct {
	StatusCode int
	Message    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("campaigns: %d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// Client calls the API with one API key.
type Client struct {
	base string
	key  string
	tr   *pacer.Transport
	http *http.Client
}

// New returns a client for the API at baseURL (such as
// "https://api.example.com") using key. opts are added after Options(),
// so they may add a clock, a logger or hooks, or override a budget.
func New(baseURL, key string, opts ...pacer.Option) *Client {
	tr := pacer.NewTransport(nil, append(Options(), opts...)...)
	return &Client{base: strings.TrimSuffix(baseURL, "/"), key: key, tr: tr, http: &http.Client{Transport: tr}}
}

// Stats returns what the client's transport did, per scope (API key and
// route).
func (c *Client) Stats() pacer.Stats { return c.tr.Stats() }

// Close closes idle connections.
func (c *Client) Close() { c.tr.CloseIdleConnections() }

// ListCampaigns returns every campaign.
func (c *Client) ListCampaigns(ctx context.Context) ([]Campaign, error) {
	var out struct {
		Data []Campaign `json:"data"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/campaigns", nil, &out)
	return out.Data, err
}

// GetCampaign returns the campaign id.
func (c *Client) GetCampaign(ctx context.Context, id string) (Campaign, error) {
	var out Campaign
	err := c.do(ctx, http.MethodGet, "/v1/campaigns/"+url.PathEscape(id), nil, &out)
	return out, err
}

// GetStatistics returns the figures of the campaign id.
func (c *Client) GetStatistics(ctx context.Context, id string) (Statistics, error) {
	var out Statistics
	err := c.do(ctx, http.MethodGet, "/v1/campaigns/"+url.PathEscape(id)+"/statistics", nil, &out)
	return out, err
}

// CreateLead adds a lead to its campaign and returns it with its ID.
func (c *Client) CreateLead(ctx context.Context, l Lead) (Lead, error) {
	var out Lead
	err := c.do(ctx, http.MethodPost, "/v1/leads/add_to_campaign", l, &out)
	return out, err
}

// do sends one request and decodes a 2xx JSON answer into out.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set(KeyHeader, c.key)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("campaigns: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("campaigns: %s %s: reading answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return &Error{StatusCode: resp.StatusCode, Message: errorMessage(data)}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("campaigns: %s %s: decoding answer: %w", method, path, err)
	}
	return nil
}

// errorMessage reads {"error": "..."} or {"message": "..."}, else the raw
// body.
func errorMessage(data []byte) string {
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &e) == nil {
		if e.Error != "" {
			return e.Error
		}
		if e.Message != "" {
			return e.Message
		}
	}
	return strings.TrimSpace(string(data))
}
