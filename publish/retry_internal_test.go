package publish

import (
	"errors"
	"testing"
	"time"
)

func TestRetryDelay(t *testing.T) {
	p := RetryPolicy{Attempts: 10, InitialDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	plain := errors.New("x")
	for attempt, full := range map[int]time.Duration{
		1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond,
		4: 800 * time.Millisecond, 5: time.Second, 9: time.Second,
	} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := p.delay(attempt, plain)
			if d < full/2 || d > full {
				t.Fatalf("attempt %d: delay %v outside [%v, %v]", attempt, d, full/2, full)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("attempt %d: only %d distinct delays in 200 draws: no jitter", attempt, len(seen))
		}
	}
	// A server's Retry-After longer than the back-off wins, capped.
	if d := p.delay(1, &StatusError{StatusCode: 429, RetryAfter: 700 * time.Millisecond}); d != 700*time.Millisecond {
		t.Errorf("Retry-After 700ms: delay %v", d)
	}
	if d := p.delay(1, &StatusError{StatusCode: 503, RetryAfter: time.Hour}); d != time.Second {
		t.Errorf("Retry-After 1h: delay %v, want the 1s cap", d)
	}
}
