package capture

import (
	"os"
	"syscall"
)

// mmapMin is the size from which a pcap file scanned in parallel is
// mapped rather than read: the kernel's copy of a big file into buffers
// is then what a scan waits for, on one core.
const mmapMin = 32 << 20

// mapFile maps f read-only when it is a big pcap file (not gzipped, not
// pcapng) of a link type the parallel decoder knows; nil otherwise. Its
// pages are faulted in by the workers that decode them, in parallel.
func mapFile(f *os.File) ([]byte, func()) {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() < mmapMin || int64(int(st.Size())) != st.Size() {
		return nil, nil
	}
	var hdr [24]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil || !isPcapMagic(hdr[:]) {
		return nil, nil
	}
	if _, _, lt, _ := pcapHeader(hdr[:]); !parallelOK(lt) {
		return nil, nil
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil
	}
	return b, func() { _ = syscall.Munmap(b) }
}

// release drops a scanned region of a mapping from the process (the page
// cache keeps it): the scan's memory stays what the regions in flight
// hold, not the file's size.
func release(b []byte, start, end int) {
	pg := os.Getpagesize()
	start = (start + pg - 1) / pg * pg
	end = end / pg * pg
	if end > start {
		_ = syscall.Madvise(b[start:end], syscall.MADV_DONTNEED)
	}
}
