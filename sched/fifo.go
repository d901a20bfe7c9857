package sched

// fifo is a growable ring buffer. It keeps its storage when it empties, so
// steady-state queueing does not allocate.
type fifo[T comparable] struct {
	buf  []T // len is zero or a power of two
	head int
	n    int
}

func (q *fifo[T]) len() int { return q.n }

// at returns the i-th element from the front.
func (q *fifo[T]) at(i int) T { return q.buf[(q.head+i)&(len(q.buf)-1)] }

func (q *fifo[T]) pushBack(v T) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = v
	q.n++
}

func (q *fifo[T]) popFront() T {
	var zero T
	v := q.buf[q.head]
	q.buf[q.head] = zero // drop references for the garbage collector
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	return v
}

// truncate keeps the first n elements.
func (q *fifo[T]) truncate(n int) {
	var zero T
	for q.n > n {
		q.n--
		q.buf[(q.head+q.n)&(len(q.buf)-1)] = zero
	}
}

// removeAt deletes the i-th element, shifting the ones behind it forward.
func (q *fifo[T]) removeAt(i int) {
	mask := len(q.buf) - 1
	for ; i < q.n-1; i++ {
		q.buf[(q.head+i)&mask] = q.buf[(q.head+i+1)&mask]
	}
	q.truncate(q.n - 1)
}

// index returns the position of v, or -1.
func (q *fifo[T]) index(v T) int {
	for i := range q.n {
		if q.at(i) == v {
			return i
		}
	}
	return -1
}

func (q *fifo[T]) grow() {
	buf := make([]T, max(4, 2*len(q.buf)))
	for i := 0; i < q.n; i++ {
		buf[i] = q.at(i)
	}
	q.buf, q.head = buf, 0
}
