// Command lvsdoctor diagnoses LVS/IPVS forwarding failures. See
// `lvsdoctor --help`.
package main

import "github.com/lvsdoctor/lvsdoctor/internal/cli"

func main() { cli.Run() }
