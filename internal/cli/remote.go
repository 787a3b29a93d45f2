package cli

import (
	"context"
	"errors"
	"io"

	"github.com/spf13/pflag"

	"github.com/lvsdoctor/lvsdoctor/internal/collect"
)

type remoteOpts struct {
	inventory string
}

func (r *remoteOpts) flags(f *pflag.FlagSet) {
	f.StringVar(&r.inventory, "inventory", "", "YAML inventory of hosts to collect over SSH")
}

func (r *remoteOpts) collect(ctx context.Context, w io.Writer) ([]*collect.Bundle, error) {
	return nil, errors.New("not yet")
}
