package forecast

import (
	"runtime"
	"sync"
)

// forEachParallel calls fn(0) … fn(n-1) on up to GOMAXPROCS goroutines and
// waits for them. Each call must write only its own results, so the outcome
// does not depend on the scheduling.
func forEachParallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
}
