package main

// When each container log grew, for `containerLogs?sinceTime=` and `sinceSeconds=`. The node
// agent's containers write their logs straight into files, without timestamps, so a request for
// the lines written since a moment starts at the size the log had when it was last seen at or
// before that moment: it may take a little more (what was written within one observation period
// before the moment, and the rest of a line cut there), never less. The conformance suite counts
// the requests a mirror backend logged since a moment (HTTPRouteRequestPercentageMirror): with
// the whole log each count would include every earlier round.

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// maxMarks bounds the history of one log; past it every second mark is dropped, so old moments
// are found less precisely (earlier, never later) rather than not at all.
const maxMarks = 8192

type logMark struct {
	at   time.Time
	size int64
}

// LogClock records the size of every container log under a state directory each time it is
// observed to have changed.
type LogClock struct {
	stateDir string
	mu       sync.Mutex
	marks    map[string][]logMark
}

func NewLogClock(stateDir string) *LogClock {
	return &LogClock{stateDir: stateDir, marks: map[string][]logMark{}}
}

// Observe records, at now, the size of each container log that changed since it was last seen.
func (c *LogClock) Observe(now time.Time) {
	paths, _ := filepath.Glob(filepath.Join(c.stateDir, "pods", "*", "logs", "*.log"))
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, path := range paths {
		info, err := os.Stat(path)
		if err != nil {
			continue
		}
		marks, size := c.marks[path], info.Size()
		if n := len(marks); n > 0 && marks[n-1].size == size {
			continue
		}
		if n := len(marks); n > 0 && marks[n-1].size > size {
			marks = nil // written anew: its earlier history says nothing of these bytes
		}
		if len(marks) >= maxMarks {
			kept := marks[:0]
			for i := 0; i < len(marks); i += 2 {
				kept = append(kept, marks[i])
			}
			marks = kept
		}
		c.marks[path] = append(marks, logMark{at: now, size: size})
	}
}

// Run observes the logs every period until ctx is done.
func (c *LogClock) Run(ctx context.Context, period time.Duration) {
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	for {
		c.Observe(time.Now())
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// Offset is where the bytes of the log at path written at or after since begin, or earlier:
// its size when last observed at or before since (0 if it was never seen by then).
func (c *LogClock) Offset(path string, since time.Time) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	marks := c.marks[path]
	i := sort.Search(len(marks), func(i int) bool { return marks[i].at.After(since) })
	if i == 0 {
		return 0
	}
	return marks[i-1].size
}
