package conf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Load reads the YAML file at path and returns the configuration ringproof
// runs with: Default, overridden by the keys the file sets, overridden by
// the environment (the Env constants and TrunkPasswordEnv), then checked by
// Validate. An empty path means no file: the defaults with the environment
// applied.
//
// Keys the file leaves out keep their defaults, but a list the file sets
// (trunks, callers, inbound.numbers, http.api_keys...) replaces the default
// list entirely; an empty list reads as nil. Within a trunk, transport
// defaults to udp, max_cps to 100 and domain to the host of address, and
// region is upper-cased. Unknown keys are errors.
//
// The error names path. A configuration that is not valid gives every
// problem at once, each a *FieldError (see FieldErrors).
func Load(path string) (*Config, error) {
	return LoadWith(path, os.Getenv)
}

// LoadWith is Load reading environment variables with getenv instead of
// os.Getenv; an empty value counts as unset, and a nil getenv reads
// nothing.
func LoadWith(path string, getenv func(string) string) (*Config, error) {
	var data []byte
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	c, err := Parse(data, getenv)
	if err != nil {
		if path == "" {
			return nil, fmt.Errorf("config: %w", err)
		}
		sep := " "
		if joined, ok := err.(interface{ Unwrap() []error }); ok && len(joined.Unwrap()) > 1 {
			sep = "\n" // one problem a line
		}
		return nil, fmt.Errorf("config %s:%s%w", path, sep, err)
	}
	return c, nil
}

// Parse is Load reading the YAML document from data instead of a file, with
// environment variables from getenv (nil reads nothing). Empty data, or a
// document of only comments, gives the defaults. data must hold at most one
// YAML document. A YAML syntax error says on which line.
func Parse(data []byte, getenv func(string) string) (*Config, error) {
	present, err := checkYAML(data)
	if err != nil {
		return nil, err
	}
	c := Default()
	if present != nil {
		// checkYAML has already refused unknown keys and wrong kinds with
		// key paths; KnownFields keeps the decoder strict regardless.
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
	}
	if present["trunks"] {
		for i := range c.Trunks {
			fillTrunkDefaults(&c.Trunks[i], present["trunks["+strconv.Itoa(i)+"].max_cps"])
		}
	}
	for i := range c.HTTP.PublishableKeys {
		fillPublishableDefaults(&c.HTTP.PublishableKeys[i], present["http.publishable_keys["+strconv.Itoa(i)+"].per_ip_per_minute"])
	}
	// An empty list set in the file means the same as none.
	emptyToNil(&c.Store.Endpoints)
	emptyToNil(&c.HTTP.AdminKeys)
	emptyToNil(&c.HTTP.CORSOrigins)
	if len(c.HTTP.PublishableKeys) == 0 {
		c.HTTP.PublishableKeys = nil
	}
	emptyToNil(&c.Inbound.Numbers)
	emptyToNil(&c.Privacy.OldEncryptionKeysHex)
	for i := range c.Trunks {
		emptyToNil(&c.Trunks[i].InboundCIDRs)
	}
	c.applyEnv(getenv)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// emptyToNil sets *list to nil if it is empty.
func emptyToNil(list *[]string) {
	if len(*list) == 0 {
		*list = nil
	}
}

// checkYAML parses data as a single YAML document and checks it against the
// schema (see checkDocument). It returns the key paths the document sets,
// or nil if data holds no document.
func checkYAML(data []byte) (present map[string]bool, err error) {
	if err := checkText(data); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, withLine(err, data)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, withLine(err, data)
	default:
		return nil, fmt.Errorf("line %d: a second YAML document; want one", next.Line)
	}
	return checkDocument(&doc)
}
