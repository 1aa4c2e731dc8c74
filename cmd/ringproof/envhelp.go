package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/ringproof/ringproof/conf"
)

// printEnvVars lists the environment variables that set configuration
// keys, for serve --help.
func printEnvVars(w io.Writer) {
	fmt.Fprintf(w, `
Every configuration key can be set from the environment, overriding the
file: RINGPROOF_ and the key's path upper-cased, each dot or list index an
underscore. Lists of values are comma-separated (a lone "," is an empty
list); in a list of sections such as trunks, <i> is the element's index
(0, 1, ...), and the index after the last adds an element. An empty
variable counts as unset; a RINGPROOF_ variable that sets no key is an
error. RINGPROOF_API_KEYS, RINGPROOF_ADMIN_KEYS and
RINGPROOF_TRUNK_<NAME>_PASSWORD also work.

`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range conf.EnvVars() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, v.Key, v.Kind)
	}
	tw.Flush()
}
