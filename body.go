package pacer

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"sync"
	"time"
)

// prepare sets c.req, the request every attempt sends: req itself when it
// can be sent as it is, else a copy with an Idempotency-Key
// (WithIdempotencyKeys), a replayable body, or a trace of what each attempt
// wrote (for methods that are not idempotent; see attemptTrace). The
// caller's request is never modified.
//
// A body without GetBody is made replayable: one that is an io.ReaderAt
// and io.Seeker (an *os.File) is read afresh from where it stands for each
// attempt, without buffering; any other is read into memory up to the
// WithBodyBuffer bound, under the request's context (a body that stalls
// cannot hold the caller past the deadline). A longer body is streamed through once and
// the request is not sent again after that attempt (c.replayable false).
func (c *call) prepare(req *http.Request) error {
	out := req
	if c.t.cfg.idempotencyKeys && needsKey(out) {
		out = out.Clone(out.Context()) // its own headers: the caller's stay untouched
		out.Header.Set(IdempotencyKeyHeader, newKey())
	}
	if out.RequestURI != "" || hasBody(out) && out.GetBody == nil {
		if out == req {
			out = out.WithContext(out.Context()) // a shallow copy
		}
		out.RequestURI = ""
	}
	c.replayable = true
	if hasBody(out) && out.GetBody == nil {
		if err := c.replayBody(out); err != nil {
			return err
		}
	}
	if !idempotent(out.Method) {
		c.trace = new(attemptTrace)
		out = c.trace.traced(out)
	}
	c.req, c.repeatable = out, mayRepeat(out)
	return nil
}

// readerAtSeeker is a body that can be read afresh from any offset.
type readerAtSeeker interface {
	io.ReaderAt
	io.Seeker
}

// replayBody gives out (a copy of the caller's request) a GetBody, or
// streams its body through once when it is longer than the buffer bound.
func (c *call) replayBody(out *http.Request) error {
	body := out.Body
	if ra, ok := body.(readerAtSeeker); ok {
		if off, err := ra.Seek(0, io.SeekCurrent); err == nil {
			n := int64(math.MaxInt64) - off // to EOF
			if out.ContentLength > 0 {
				n = out.ContentLength
			}
			out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(io.NewSectionReader(ra, off, n)), nil }
			out.Body, _ = out.GetBody()
			c.closer = body // closed when the call ends
			return nil
		}
	}
	ctx := out.Context()
	if ctx.Err() != nil {
		body.Close()
		return context.Cause(ctx)
	}
	read := make(chan bufferedBody, 1)
	go func() { // ends at the bound, at the body's end, or when Close cuts it
		b, err := io.ReadAll(io.LimitReader(body, c.t.cfg.bodyBuffer+1))
		read <- bufferedBody{b, err}
	}()
	var r bufferedBody
	select {
	case r = <-read:
	case <-ctx.Done():
		body.Close() // a reader that ignores Close still stops at the bound
		return context.Cause(ctx)
	}
	prefix, err := r.b, r.err
	if err != nil {
		body.Close()
		return err
	}
	if int64(len(prefix)) > c.t.cfg.bodyBuffer {
		out.Body = readCloser{io.MultiReader(bytes.NewReader(prefix), body), body}
		c.replayable = false
		return nil
	}
	body.Close()
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(prefix)), nil }
	out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(prefix)), int64(len(prefix))
	return nil
}

// bufferedBody is what the read of a request body into memory gave.
type bufferedBody struct {
	b   []byte
	err error
}

// readCloser reads from one source and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}

func hasBody(r *http.Request) bool { return r.Body != nil && r.Body != http.NoBody }

func closeBody(r *http.Request) {
	if r.Body != nil {
		r.Body.Close()
	}
}

// Bounds of the read of a discarded response body: enough bytes to let its
// connection be reused when the rest is small, for no longer than a server
// sending its body at a normal pace needs. A body that stalls is closed
// (its connection dropped) instead of holding the caller.
const (
	drainLimit   = 4 << 10
	drainTimeout = 100 * time.Millisecond
)

// drain reads and closes a response body pacer discards, within the
// bounds above.
func drain(body io.ReadCloser) {
	if body == nil {
		return
	}
	cut := time.AfterFunc(drainTimeout, func() { body.Close() })
	_, _ = io.Copy(io.Discard, io.LimitReader(body, drainLimit))
	cut.Stop()
	_ = body.Close()
}

// peekTimeout bounds how long peekBodyHint waits for a body's first bytes:
// a server that sends its error body at a normal pace sends a small one
// with its headers, while one that stalls must not hold the caller.
const peekTimeout = 50 * time.Millisecond

// peekBodyHint reads at most bodyHintLimit bytes of a JSON response body
// (Content-Type application/json, */*+json, or none), for at most
// peekTimeout, and returns the wait that bodyHint finds there, reading
// absolute times against the server's Date as ParseRateLimit does. The
// bytes read are put back: resp.Body yields the same bytes as before, byte
// for byte (and any read error at the same place), and closing it closes
// the original body. A body that is slower than peekTimeout gives no hint
// and reaches the caller as it arrives. Bodies with another type or a
// Content-Encoding are left untouched. Call it only on error responses,
// whose bodies are plain readers.
func peekBodyHint(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp == nil || resp.Body == nil || resp.Body == http.NoBody {
		return 0, false
	}
	f := readHeaderFields(resp.Header)
	if !jsonBody(f) {
		return 0, false
	}
	p := &peekedBody{orig: resp.Body, done: make(chan struct{})}
	go p.collect(bodyHintLimit)
	resp.Body = p
	timer := time.NewTimer(peekTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return bodyHint(p.prefix, readServerTime(f, now))
	case <-timer.C:
		p.giveUp()
		return 0, false
	}
}

// peekedBody is a response body whose first bytes a goroutine reads
// (collect) while the transport waits for them, and then puts back. Reads
// wait for the collector to stop: at the limit, at the end of the body, or
// after the read in progress when the peek gave up. Close closes the
// original body, which also ends a collector stuck in a read.
type peekedBody struct {
	orig io.ReadCloser
	done chan struct{} // closed when the collector stopped

	mu     sync.Mutex // guards stop, and prefix and err until done is closed
	stop   bool
	prefix []byte
	err    error
	offset int // of the next byte of prefix to hand out (the reader's)
}

// collect reads up to limit bytes of the body into p.prefix.
func (p *peekedBody) collect(limit int) {
	defer close(p.done)
	buf := make([]byte, 512)
	for {
		n, err := p.orig.Read(buf[:min(len(buf), limit-len(p.prefix))])
		p.mu.Lock()
		p.prefix, p.err = append(p.prefix, buf[:n]...), err
		stop := p.stop || err != nil || len(p.prefix) >= limit
		p.mu.Unlock()
		if stop {
			return
		}
	}
}

// giveUp stops the collector after the read in progress.
func (p *peekedBody) giveUp() {
	p.mu.Lock()
	p.stop = true
	p.mu.Unlock()
}

func (p *peekedBody) Read(b []byte) (int, error) {
	<-p.done
	if p.offset < len(p.prefix) {
		n := copy(b, p.prefix[p.offset:])
		p.offset += n
		return n, nil
	}
	if p.err != nil {
		return 0, p.err
	}
	return p.orig.Read(b)
}

func (p *peekedBody) Close() error { return p.orig.Close() }
