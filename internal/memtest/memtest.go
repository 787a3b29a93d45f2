// Package memtest measures what a piece of code holds on the heap at its
// worst, for tests that bound the memory hostile input may cost. The
// runtime's counters give totals; the peak needs sampling while the code
// runs.
package memtest

import (
	"runtime"
	"time"
)

// PeakHeap runs fn while sampling the in-use heap every few milliseconds
// and returns the most it held above what was in use before fn started.
func PeakHeap(fn func()) int64 {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	peak := before.HeapInuse
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return int64(peak) - int64(before.HeapInuse)
}
