package rules

import "testing"

func TestKernelVersion(t *testing.T) {
	for _, c := range []struct {
		release    string
		maj, minor int
		ok         bool
	}{
		{"4.18.0-348.el8.x86_64", 4, 18, true},
		{"5.10.0-60.18.0.50.oe2203.aarch64", 5, 10, true},
		{"5.9-rc1", 5, 9, true},
		{" 6.1.0\n", 6, 1, true},
		{"3", 0, 0, false},
		{"", 0, 0, false},
		{"x.y.z", 0, 0, false},
	} {
		maj, minor, ok := kernelVersion(c.release)
		if maj != c.maj || minor != c.minor || ok != c.ok {
			t.Errorf("kernelVersion(%q) = %d, %d, %v; want %d, %d, %v", c.release, maj, minor, ok, c.maj, c.minor, c.ok)
		}
	}
}
