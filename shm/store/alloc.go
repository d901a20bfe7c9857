package store

import "math/bits"

// The allocator is a two-level segregated fit (TLSF): free blocks sit in
// size-class lists, found through two bitmaps in O(1); freed blocks merge
// with free neighbours at once (boundary tags kept in Go memory, not in
// the segment, so a worker scribbling over shared memory cannot break it).
//
// Sizes are in bytes, always multiples of Align. A size in units u =
// size/Align maps to a first level fl (the power of two) and a second
// level sl (slBits more bits below the top one); sizes below slCount units
// get one list each.

const (
	slBits  = 4
	slCount = 1 << slBits
	flCount = 64
	noBlock = -1
)

type block struct {
	off, size          int64 // bytes
	prevPhys, nextPhys int32 // neighbours in address order, noBlock at the ends
	prevFree, nextFree int32 // free-list links while free
	free               bool
}

type allocator struct {
	blocks   []block
	spare    []int32 // unused records in blocks
	flBitmap uint64
	slBitmap [flCount]uint32
	heads    [flCount][slCount]int32
	free     int64 // bytes in free blocks
}

func (a *allocator) init(capacity int64) {
	for fl := range a.heads {
		for sl := range a.heads[fl] {
			a.heads[fl][sl] = noBlock
		}
	}
	i := a.newBlock()
	a.blocks[i] = block{off: 0, size: capacity, prevPhys: noBlock, nextPhys: noBlock}
	a.insertFree(i)
	a.free = capacity
}

// mapping returns the class of a block of u units.
func mapping(u int64) (fl, sl int) {
	if u < slCount {
		return 0, int(u)
	}
	f := bits.Len64(uint64(u)) - 1
	return f - slBits + 1, int(u>>(f-slBits)) & (slCount - 1)
}

// mappingSearch returns the first class all of whose blocks hold u units.
func mappingSearch(u int64) (fl, sl int) {
	if u >= slCount {
		f := bits.Len64(uint64(u)) - 1
		u += 1<<(f-slBits) - 1
	}
	return mapping(u)
}

func (a *allocator) newBlock() int32 {
	if n := len(a.spare); n > 0 {
		i := a.spare[n-1]
		a.spare = a.spare[:n-1]
		return i
	}
	a.blocks = append(a.blocks, block{})
	return int32(len(a.blocks) - 1)
}

func (a *allocator) releaseBlock(i int32) {
	a.blocks[i] = block{}
	a.spare = append(a.spare, i)
}

func (a *allocator) insertFree(i int32) {
	b := &a.blocks[i]
	fl, sl := mapping(b.size / Align)
	b.free = true
	b.prevFree = noBlock
	b.nextFree = a.heads[fl][sl]
	if b.nextFree != noBlock {
		a.blocks[b.nextFree].prevFree = i
	}
	a.heads[fl][sl] = i
	a.slBitmap[fl] |= 1 << sl
	a.flBitmap |= 1 << fl
}

func (a *allocator) removeFree(i int32) {
	b := &a.blocks[i]
	fl, sl := mapping(b.size / Align)
	if b.prevFree != noBlock {
		a.blocks[b.prevFree].nextFree = b.nextFree
	} else {
		a.heads[fl][sl] = b.nextFree
	}
	if b.nextFree != noBlock {
		a.blocks[b.nextFree].prevFree = b.prevFree
	}
	if a.heads[fl][sl] == noBlock {
		a.slBitmap[fl] &^= 1 << sl
		if a.slBitmap[fl] == 0 {
			a.flBitmap &^= 1 << fl
		}
	}
	b.free = false
	b.prevFree, b.nextFree = noBlock, noBlock
}

// find returns a free block of at least size bytes, or noBlock if no free
// extent is that large.
func (a *allocator) find(size int64) int32 {
	u := size / Align
	fl, sl := mappingSearch(u)
	if fl < flCount {
		m := a.slBitmap[fl] & (^uint32(0) << sl)
		if m == 0 {
			if fm := a.flBitmap & (^uint64(0) << (fl + 1)); fm != 0 {
				fl = bits.TrailingZeros64(fm)
				m = a.slBitmap[fl]
			}
		}
		if m != 0 {
			return a.heads[fl][bits.TrailingZeros32(m)]
		}
	}
	// The rounded-up search skips blocks in u's own class that are large
	// enough; look there too, so a fitting extent is never missed.
	fl, sl = mapping(u)
	for i := a.heads[fl][sl]; i != noBlock; i = a.blocks[i].nextFree {
		if a.blocks[i].size >= size {
			return i
		}
	}
	return noBlock
}

// alloc takes size bytes (a positive multiple of Align) and returns the
// block, exactly size bytes long, or noBlock.
func (a *allocator) alloc(size int64) int32 {
	i := a.find(size)
	if i == noBlock {
		return noBlock
	}
	a.removeFree(i)
	if rest := a.blocks[i].size - size; rest > 0 {
		j := a.newBlock() // may move a.blocks: index, do not hold pointers
		a.blocks[j] = block{
			off:      a.blocks[i].off + size,
			size:     rest,
			prevPhys: i,
			nextPhys: a.blocks[i].nextPhys,
		}
		if n := a.blocks[i].nextPhys; n != noBlock {
			a.blocks[n].prevPhys = j
		}
		a.blocks[i].nextPhys = j
		a.blocks[i].size = size
		a.insertFree(j)
	}
	a.free -= size
	return i
}

// release frees block i and merges it with free neighbours.
func (a *allocator) release(i int32) {
	a.free += a.blocks[i].size
	if n := a.blocks[i].nextPhys; n != noBlock && a.blocks[n].free {
		a.removeFree(n)
		a.blocks[i].size += a.blocks[n].size
		a.blocks[i].nextPhys = a.blocks[n].nextPhys
		if nn := a.blocks[n].nextPhys; nn != noBlock {
			a.blocks[nn].prevPhys = i
		}
		a.releaseBlock(n)
	}
	if p := a.blocks[i].prevPhys; p != noBlock && a.blocks[p].free {
		a.removeFree(p)
		a.blocks[p].size += a.blocks[i].size
		a.blocks[p].nextPhys = a.blocks[i].nextPhys
		if n := a.blocks[i].nextPhys; n != noBlock {
			a.blocks[n].prevPhys = p
		}
		a.releaseBlock(i)
		i = p
	}
	a.insertFree(i)
}

// largestFree returns the size of the largest free extent (for error
// messages).
func (a *allocator) largestFree() int64 {
	if a.flBitmap == 0 {
		return 0
	}
	fl := flCount - 1 - bits.LeadingZeros64(a.flBitmap)
	sl := 31 - bits.LeadingZeros32(a.slBitmap[fl])
	var max int64
	for i := a.heads[fl][sl]; i != noBlock; i = a.blocks[i].nextFree {
		if a.blocks[i].size > max {
			max = a.blocks[i].size
		}
	}
	return max
}
