package store

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// check verifies the allocator's structure: blocks tile [0, capacity) in
// address order, no two free blocks are adjacent, every free block is in
// the list of its class and the free byte count adds up.
func (a *allocator) check(capacity int64) error {
	first := int32(noBlock)
	for i := range a.blocks {
		b := &a.blocks[i]
		if b.size > 0 && b.prevPhys == noBlock {
			if first != noBlock {
				return fmt.Errorf("blocks %d and %d both start the segment", first, i)
			}
			first = int32(i)
		}
	}
	var off, free int64
	prevFree := false
	nFree := 0
	for i := first; i != noBlock; i = a.blocks[i].nextPhys {
		b := &a.blocks[i]
		if b.off != off || b.size <= 0 || b.size%Align != 0 {
			return fmt.Errorf("block %d at %d+%d, expected offset %d", i, b.off, b.size, off)
		}
		if n := b.nextPhys; n != noBlock && a.blocks[n].prevPhys != i {
			return fmt.Errorf("block %d: next %d points back to %d", i, n, a.blocks[n].prevPhys)
		}
		if b.free {
			if prevFree {
				return fmt.Errorf("free block %d follows a free block", i)
			}
			free += b.size
			nFree++
		}
		prevFree = b.free
		off += b.size
	}
	if off != capacity {
		return fmt.Errorf("blocks cover %d bytes of %d", off, capacity)
	}
	if free != a.free {
		return fmt.Errorf("free blocks hold %d bytes, counter says %d", free, a.free)
	}
	listed := 0
	for fl := range a.heads {
		for sl := range a.heads[fl] {
			has := a.slBitmap[fl]&(1<<sl) != 0
			if has != (a.heads[fl][sl] != noBlock) {
				return fmt.Errorf("class %d/%d: bitmap %v, head %d", fl, sl, has, a.heads[fl][sl])
			}
			for i := a.heads[fl][sl]; i != noBlock; i = a.blocks[i].nextFree {
				f, s := mapping(a.blocks[i].size / Align)
				if f != fl || s != sl || !a.blocks[i].free {
					return fmt.Errorf("block %d (%d bytes, free %v) in list %d/%d", i, a.blocks[i].size, a.blocks[i].free, fl, sl)
				}
				listed++
			}
		}
		if (a.flBitmap&(1<<fl) != 0) != (a.slBitmap[fl] != 0) {
			return fmt.Errorf("first-level bit %d disagrees with its second level", fl)
		}
	}
	if listed != nFree {
		return fmt.Errorf("%d free blocks, %d in lists", nFree, listed)
	}
	return nil
}

func TestMapping(t *testing.T) {
	for u := int64(1); u < 1<<20; u += 1 + u/7 {
		fl, sl := mapping(u)
		sfl, ssl := mappingSearch(u)
		if sfl < fl || (sfl == fl && ssl < sl) {
			t.Fatalf("u=%d: search class %d/%d below its class %d/%d", u, sfl, ssl, fl, sl)
		}
		// Every size in the search class must be at least u.
		lo := int64(ssl)
		if sfl > 0 {
			lo = int64(slCount+ssl) << (sfl - 1)
		}
		if lo < u {
			t.Fatalf("u=%d: search class %d/%d starts at %d", u, sfl, ssl, lo)
		}
	}
}

// A model-checked random run: allocations never overlap, frees merge,
// and an allocation fails only when no free extent is large enough.
func TestAllocatorRandom(t *testing.T) {
	const capacity = 1 << 22
	var a allocator
	a.init(capacity)
	rng := rand.New(rand.NewPCG(1, 2))
	live := map[int32]int64{}
	var keys []int32
	for step := 0; step < 50_000; step++ {
		if len(keys) > 0 && rng.IntN(2) == 0 {
			k := rng.IntN(len(keys))
			i := keys[k]
			keys[k] = keys[len(keys)-1]
			keys = keys[:len(keys)-1]
			delete(live, i)
			a.release(i)
		} else {
			size := Align * (1 + rng.Int64N(1<<uint(rng.IntN(12))))
			i := a.alloc(size)
			if i == noBlock {
				if l := a.largestFreeScan(); l >= size {
					t.Fatalf("step %d: alloc of %d failed with a free extent of %d", step, size, l)
				}
				continue
			}
			if a.blocks[i].size != size || a.blocks[i].free {
				t.Fatalf("step %d: got block of %d (free %v) for %d", step, a.blocks[i].size, a.blocks[i].free, size)
			}
			live[i] = size
			keys = append(keys, i)
		}
		if step%1000 == 0 {
			if err := a.check(capacity); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		}
	}
	for _, i := range keys {
		a.release(i)
	}
	if err := a.check(capacity); err != nil {
		t.Fatal(err)
	}
	if a.free != capacity || a.largestFree() != capacity {
		t.Fatalf("after freeing everything: free %d, largest %d", a.free, a.largestFree())
	}
}

// largestFreeScan is largestFree by brute force.
func (a *allocator) largestFreeScan() int64 {
	var max int64
	for i := range a.blocks {
		if a.blocks[i].free && a.blocks[i].size > max {
			max = a.blocks[i].size
		}
	}
	return max
}

// TLSF's rounded-up search misses a block in the request's own class;
// the fallback scan must find it.
func TestAllocatorExactClassFallback(t *testing.T) {
	var a allocator
	// 1000 units: class covers [960, 1024) units; a request of 990 units
	// rounds up to the next class, which is empty.
	a.init(1000 * Align)
	if i := a.alloc(990 * Align); i == noBlock {
		t.Fatal("a 990-unit request failed in a free 1000-unit extent")
	}
	if i := a.alloc(11 * Align); i != noBlock {
		t.Fatal("an 11-unit request succeeded with 10 units free")
	}
	if err := a.check(1000 * Align); err != nil {
		t.Fatal(err)
	}
}
