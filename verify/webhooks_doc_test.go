package verify

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ringproof/ringproof/api"
)

// TestWebhookDataIsDocumented: the OpenAPI document's verification.updated
// payload (VerificationUpdated) names exactly webhookData's fields.
func TestWebhookDataIsDocumented(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var documented, fields []string
	for name := range doc.Components.Schemas["VerificationUpdated"].Properties {
		documented = append(documented, name)
	}
	typ := reflect.TypeOf(webhookData{})
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		fields = append(fields, name)
	}
	slices.Sort(documented)
	slices.Sort(fields)
	if !slices.Equal(documented, fields) {
		t.Fatalf("VerificationUpdated documents %v; webhookData has %v", documented, fields)
	}
}
