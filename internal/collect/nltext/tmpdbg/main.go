package main

import (
	"fmt"
	"os"

	"github.com/lvsdoctor/lvsdoctor/internal/collect/nltext"
)

func main() {
	var b []byte
	var err error
	switch os.Args[1] {
	case "addr":
		b, err = nltext.Addr()
	case "link":
		b, err = nltext.Link()
	}
	os.Stdout.Write(b)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}
