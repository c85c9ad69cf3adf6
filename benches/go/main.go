// The Go peer of grove-bench: the suite's workloads written with goroutines,
// channels and the net package (standard library only), so that grove can be
// compared with Go's scheduler, the reference for green threads on many
// cores. The suite builds this program with `go build` when `go` is on the
// path and runs it once per measurement:
//
//	go-peer -workload NAME -row KEY -count N -workers W -spin-iters I
//
// It prints one line, `SAMPLE <value>\t<note>`, in the row's unit. For the
// server workloads (echo, http_hello) it prints `LISTEN <address>` instead,
// serves until its standard input is closed, and the suite's own load client
// (the same as for every other peer) drives it. GOMAXPROCS is set to the
// row's worker count: it is the number of OS threads running goroutines at
// once, as the hubs are for grove. See docs/benchmarks.md.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	workload  = flag.String("workload", "", "the workload's name")
	row       = flag.String("row", "", "the row's key (empty for a workload's only row)")
	count     = flag.Int("count", 1, "tasks, switches, round trips, operations or goroutines")
	workers   = flag.Int("workers", 1, "GOMAXPROCS")
	spinIters = flag.Uint64("spin-iters", 1, "iterations of the spin loop per CPU-bound task")
)

// The semaphore row's permits and contenders, and the queue row's capacity
// and producers (and consumers): as in the Rust workloads.
const (
	permits    = 4
	contenders = 1000
	capacity   = 64
	sides      = 4
)

// The HTTP response every http_hello server sends, byte for byte.
const httpResponse = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\nHello world!"

func main() {
	flag.Parse()
	runtime.GOMAXPROCS(*workers)
	value, note, err := run()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-peer %s/%s: %v\n", *workload, *row, err)
		os.Exit(1)
	}
	if value >= 0 {
		fmt.Printf("SAMPLE %v\t%s\n", value, note)
	}
}

// run measures once; a server workload returns -1 after serving.
func run() (float64, string, error) {
	n := *count
	switch *workload {
	case "spawn_join":
		return perItem(spawnJoin(n), n), "", nil
	case "yield_local":
		return perItem(yieldLocal(n/2), 2*(n/2)), "", nil
	case "fanout_cpu":
		return millis(batch(n, 0)), "", nil
	case "imbalanced":
		spawners := *workers
		if *row == "one_spawner" {
			spawners = 1
		}
		return millis(batch(n, spawners)), "", nil
	case "idle_memory":
		return idleMemory(n)
	case "pingpong_cross":
		took, err := pingpongCross(n)
		return perItem(took, n), "", err
	case "pingpong_net":
		took, err := pingpongNet(n)
		return perItem(took, n), "", err
	case "sync_contended":
		var took time.Duration
		var err error
		if *row == "semaphore" {
			took, err = semaphore(n)
		} else {
			took, err = queue(n)
		}
		return perItem(took, n), "", err
	case "echo":
		return -1, "", serve(echoConn)
	case "http_hello":
		return -1, "", serve(httpConn)
	}
	return 0, "", fmt.Errorf("no Go version of %q", *workload)
}

func perItem(d time.Duration, n int) float64 { return float64(d.Nanoseconds()) / float64(n) }

func millis(d time.Duration) float64 { return d.Seconds() * 1e3 }

// spawnJoin starts n goroutines that each return a value, then collects
// them all: a WaitGroup and a slot each, Go's way to join.
func spawnJoin(n int) time.Duration {
	t := time.Now()
	results := make([]int, n)
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func(i int) {
			results[i] = i
			wg.Done()
		}(i)
	}
	wg.Wait()
	took := time.Since(t)
	sum := 0
	for _, r := range results {
		sum += r
	}
	sink.Store(uint64(sum))
	return took
}

// yieldLocal: two goroutines on one OS thread (GOMAXPROCS 1) calling
// runtime.Gosched perSide times each.
func yieldLocal(perSide int) time.Duration {
	runtime.GOMAXPROCS(1)
	var wg sync.WaitGroup
	wg.Add(2)
	t := time.Now()
	for s := 0; s < 2; s++ {
		go func() {
			for i := 0; i < perSide; i++ {
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	return time.Since(t)
}

var sink atomic.Value

// spin runs the same xorshift chain as the Rust peers' tasks.
func spin(iters uint64) uint64 {
	x := uint64(0x9E3779B97F4A7C15)
	for i := uint64(0); i < iters; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// batch runs n CPU-bound goroutines. With spawners 0 the main goroutine
// starts them all (fanout_cpu: Go has no outside of its runtime); otherwise
// that many spawner goroutines start an equal share each (imbalanced).
func batch(n, spawners int) time.Duration {
	var done sync.WaitGroup
	done.Add(n)
	task := func() {
		sink.Store(spin(*spinIters))
		done.Done()
	}
	t := time.Now()
	if spawners == 0 {
		for i := 0; i < n; i++ {
			go task()
		}
	} else {
		for s := 0; s < spawners; s++ {
			share := n / spawners
			if s < n%spawners {
				share++
			}
			go func(share int) {
				for i := 0; i < share; i++ {
					go task()
				}
			}(share)
		}
	}
	done.Wait()
	return time.Since(t)
}

// heldBytes is the process's resident memory plus its page tables, as the
// Rust peers measure theirs.
func heldBytes() (uint64, error) {
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(statm))
	if len(fields) < 2 {
		return 0, errors.New("unreadable /proc/self/statm")
	}
	pages, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		return 0, err
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	var pte uint64
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmPTE:") {
			kb := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(line[len("VmPTE:"):]), "kB"))
			if pte, err = strconv.ParseUint(kb, 10, 64); err != nil {
				return 0, err
			}
			pte *= 1024
		}
	}
	return pages*uint64(os.Getpagesize()) + pte, nil
}

// idleMemory parks n goroutines on a channel receive each and reports the
// memory held per goroutine above the baseline.
func idleMemory(n int) (float64, string, error) {
	spawnJoin(1000) // warm the scheduler up, as the Rust peers do
	before, err := heldBytes()
	if err != nil {
		return 0, "", err
	}
	wakes := make([]chan struct{}, n)
	var parked, finished sync.WaitGroup
	parked.Add(n)
	finished.Add(n)
	for i := range wakes {
		wakes[i] = make(chan struct{})
		go func(wake chan struct{}) {
			parked.Done()
			<-wake
			finished.Done()
		}(wakes[i])
	}
	parked.Wait()
	time.Sleep(100 * time.Millisecond) // so that the last ones are really parked
	after, err := heldBytes()
	if err != nil {
		return 0, "", err
	}
	for _, w := range wakes {
		close(w)
	}
	finished.Wait()
	return float64(after-before) / float64(n), "", nil
}

// pingpongCross hands a number back and forth between two goroutines
// through two channels of capacity 1; ping checks every answer.
func pingpongCross(n int) (time.Duration, error) {
	out, back := make(chan int, 1), make(chan int, 1)
	go func() {
		for v := range out {
			back <- v
		}
		close(back)
	}()
	out <- -1 // one untimed round trip: both sides are running
	<-back
	t := time.Now()
	for i := 0; i < n; i++ {
		out <- i
		if v := <-back; v != i {
			return 0, fmt.Errorf("sent %d, got %d back", i, v)
		}
	}
	took := time.Since(t)
	close(out)
	return took, nil
}

// pingpongNet passes one byte back and forth over a loopback TCP connection
// between two goroutines on one OS thread (GOMAXPROCS 1).
func pingpongNet(n int) (time.Duration, error) {
	runtime.GOMAXPROCS(1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		b := make([]byte, 1)
		for i := 0; i <= n; i++ {
			if _, err := io.ReadFull(c, b); err != nil {
				served <- err
				return
			}
			if _, err := c.Write(b); err != nil {
				served <- err
				return
			}
		}
		served <- nil
	}()
	c, err := net.Dial("tcp", ln.Addr().String()) // TCP_NODELAY is Go's default
	if err != nil {
		return 0, err
	}
	defer c.Close()
	b := make([]byte, 1)
	trip := func() error {
		if _, err := c.Write(b); err != nil {
			return err
		}
		_, err := io.ReadFull(c, b)
		return err
	}
	if err := trip(); err != nil { // warm: both sides parked once
		return 0, err
	}
	t := time.Now()
	for i := 0; i < n; i++ {
		if err := trip(); err != nil {
			return 0, err
		}
	}
	took := time.Since(t)
	return took, <-served
}

// semaphore: 1,000 goroutines share a semaphore of 4 permits (a buffered
// channel of tokens), n cycles in all of acquire, yield while holding,
// release. The clock starts when every contender has started and the
// permits are handed out; every holder checks that at most 4 hold one.
func semaphore(n int) (time.Duration, error) {
	tokens := make(chan struct{}, permits)
	var started, finished sync.WaitGroup
	started.Add(contenders)
	finished.Add(contenders)
	var holding, overflow int64
	for c := 0; c < contenders; c++ {
		share := n / contenders
		if c < n%contenders {
			share++
		}
		go func(share int) {
			started.Done()
			for i := 0; i < share; i++ {
				<-tokens
				if atomic.AddInt64(&holding, 1) > permits {
					atomic.StoreInt64(&overflow, 1)
				}
				runtime.Gosched()
				atomic.AddInt64(&holding, -1)
				tokens <- struct{}{}
			}
			finished.Done()
		}(share)
	}
	started.Wait()
	t := time.Now()
	for i := 0; i < permits; i++ {
		tokens <- struct{}{}
	}
	finished.Wait()
	took := time.Since(t)
	if atomic.LoadInt64(&overflow) != 0 {
		return 0, errors.New("more than 4 held a permit at once")
	}
	return took, nil
}

// queue: 4 producers and 4 consumers share a channel of capacity 64; n items
// in all, every one counted and summed.
func queue(n int) (time.Duration, error) {
	items := make(chan int, capacity)
	var producers, consumers sync.WaitGroup
	producers.Add(sides)
	consumers.Add(sides)
	var taken, sum int64
	t := time.Now()
	for p := 0; p < sides; p++ {
		go func(p int) {
			for i := p; i < n; i += sides {
				items <- i
			}
			producers.Done()
		}(p)
	}
	for c := 0; c < sides; c++ {
		go func() {
			var k, s int64
			for v := range items {
				k++
				s += int64(v)
			}
			atomic.AddInt64(&taken, k)
			atomic.AddInt64(&sum, s)
			consumers.Done()
		}()
	}
	producers.Wait()
	close(items)
	consumers.Wait()
	took := time.Since(t)
	want := int64(n) * int64(n-1) / 2
	if taken != int64(n) || sum != want {
		return 0, fmt.Errorf("took %d items summing to %d, want %d and %d", taken, sum, n, want)
	}
	return took, nil
}

// serve accepts connections on a fresh loopback port, a goroutine each,
// until standard input closes.
func serve(handle func(net.Conn)) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go func() {
			defer c.Close()
			handle(c)
		}()
	}
}

// echoConn writes back every byte it reads.
func echoConn(c net.Conn) {
	buf := make([]byte, 8192)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

// httpConn answers each request (parsed by net/http) with the fixed
// response, until the client closes the connection or asks to.
func httpConn(c net.Conn) {
	r := bufio.NewReaderSize(c, 8192)
	response := []byte(httpResponse)
	for {
		req, err := http.ReadRequest(r)
		if err != nil {
			return
		}
		if _, err := c.Write(response); err != nil || req.Close {
			return
		}
	}
}
