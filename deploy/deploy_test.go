// Package deploy holds no code: its tests check the deployment files
// beside them offline. The systemd unit passes systemd-analyze verify
// where that tool is installed; the Kubernetes manifests decode strictly
// into the part of the Kubernetes schema they use (a misspelt field is an
// error), hang together (selectors, ports, probes, the Service the
// StatefulSet names) and give ringproof a configuration it accepts; the
// Prometheus rules, and every query of the Grafana dashboard, pass
// promtool. That each metric they use is one a node exports is checked by
// cmd/ringproof's TestDashboardAndAlertsUseExportedMetrics.
package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ringproof/ringproof/conf"
)

// knownEnv reports whether name is a variable ringproof reads.
func knownEnv(name string) bool {
	if slices.Contains(conf.EnvOther, name) {
		return true
	}
	for _, v := range conf.EnvVars() {
		if v.Name == name {
			return true
		}
		// RINGPROOF_TRUNKS_<i>_ADDRESS matches RINGPROOF_TRUNKS_0_ADDRESS.
		if pre, post, ok := strings.Cut(v.Name, "<i>"); ok && strings.HasPrefix(name, pre) && strings.HasSuffix(name, post) {
			if i := strings.TrimSuffix(strings.TrimPrefix(name, pre), post); i != "" && strings.Trim(i, "0123456789") == "" {
				return true
			}
		}
	}
	return false
}

func TestSystemdUnit(t *testing.T) {
	data, err := os.ReadFile("systemd/ringproof.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := map[string][]string{} // key -> values, all sections
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			unit[k] = append(unit[k], v)
		}
	}
	for key, want := range map[string]string{
		"DynamicUser": "yes", "ProtectSystem": "strict", "StateDirectory": "ringproof",
		"NoNewPrivileges": "yes", "ProtectHome": "yes", "PrivateTmp": "yes",
		"ExecReload": "/bin/kill -HUP $MAINPID", "KillSignal": "SIGTERM",
	} {
		if !slices.Contains(unit[key], want) {
			t.Errorf("%s=%v, want %s", key, unit[key], want)
		}
	}
	for _, env := range unit["Environment"] {
		name, value, _ := strings.Cut(env, "=")
		if !knownEnv(name) {
			t.Errorf("Environment=%s: ringproof reads no such variable", env)
		}
		if name == "RINGPROOF_STORE_DATA_DIR" && value != "/var/lib/"+unit["StateDirectory"][0] {
			t.Errorf("RINGPROOF_STORE_DATA_DIR=%s is not the StateDirectory /var/lib/%s", value, unit["StateDirectory"][0])
		}
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit is not verified")
	}
	// verify wants ExecStart's program to exist: the same unit with this
	// test's own binary in its place.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unitFile := path.Join(t.TempDir(), "ringproof.service")
	if err := os.WriteFile(unitFile, bytes.ReplaceAll(data, []byte("/usr/local/bin/ringproof"), []byte(self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unitFile).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// The part of the Kubernetes schema the manifests use. Decoding is strict:
// a field not here is an error, so a misspelt one is caught.
type (
	objectMeta struct {
		Name        string            `yaml:"name"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	}
	header struct {
		APIVersion string     `yaml:"apiVersion"`
		Kind       string     `yaml:"kind"`
		Metadata   objectMeta `yaml:"metadata"`
	}
	configMap struct {
		header `yaml:",inline"`
		Data   map[string]string `yaml:"data"`
	}
	secret struct {
		header     `yaml:",inline"`
		Type       string            `yaml:"type"`
		StringData map[string]string `yaml:"stringData"`
	}
	labelSelector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	statefulSet struct {
		header `yaml:",inline"`
		Spec   struct {
			ServiceName         string        `yaml:"serviceName"`
			Replicas            int           `yaml:"replicas"`
			PodManagementPolicy string        `yaml:"podManagementPolicy"`
			Selector            labelSelector `yaml:"selector"`
			Template            struct {
				Metadata objectMeta `yaml:"metadata"`
				Spec     podSpec    `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	podSpec struct {
		TerminationGracePeriodSeconds int  `yaml:"terminationGracePeriodSeconds"`
		HostNetwork                   bool `yaml:"hostNetwork"`
		SecurityContext               struct {
			RunAsNonRoot   bool `yaml:"runAsNonRoot"`
			RunAsUser      int  `yaml:"runAsUser"`
			RunAsGroup     int  `yaml:"runAsGroup"`
			FSGroup        int  `yaml:"fsGroup"`
			SeccompProfile struct {
				Type string `yaml:"type"`
			} `yaml:"seccompProfile"`
		} `yaml:"securityContext"`
		Containers []container `yaml:"containers"`
		Volumes    []struct {
			Name      string `yaml:"name"`
			ConfigMap *struct {
				Name string `yaml:"name"`
			} `yaml:"configMap"`
			EmptyDir *struct{} `yaml:"emptyDir"`
		} `yaml:"volumes"`
	}
	container struct {
		Name  string   `yaml:"name"`
		Image string   `yaml:"image"`
		Args  []string `yaml:"args"`
		Env   []struct {
			Name      string `yaml:"name"`
			Value     string `yaml:"value"`
			ValueFrom *struct {
				FieldRef struct {
					FieldPath string `yaml:"fieldPath"`
				} `yaml:"fieldRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		EnvFrom []struct {
			SecretRef struct {
				Name string `yaml:"name"`
			} `yaml:"secretRef"`
		} `yaml:"envFrom"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
			Protocol      string `yaml:"protocol"`
		} `yaml:"ports"`
		ReadinessProbe probe `yaml:"readinessProbe"`
		LivenessProbe  probe `yaml:"livenessProbe"`
		Resources      struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		SecurityContext struct {
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
			Capabilities             struct {
				Drop []string `yaml:"drop"`
			} `yaml:"capabilities"`
		} `yaml:"securityContext"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
			ReadOnly  bool   `yaml:"readOnly"`
		} `yaml:"volumeMounts"`
	}
	probe struct {
		HTTPGet struct {
			Path string `yaml:"path"`
			Port string `yaml:"port"`
		} `yaml:"httpGet"`
		InitialDelaySeconds int `yaml:"initialDelaySeconds"`
		PeriodSeconds       int `yaml:"periodSeconds"`
		TimeoutSeconds      int `yaml:"timeoutSeconds"`
		FailureThreshold    int `yaml:"failureThreshold"`
	}
	service struct {
		header `yaml:",inline"`
		Spec   struct {
			Type                  string            `yaml:"type"`
			ClusterIP             string            `yaml:"clusterIP"`
			ExternalTrafficPolicy string            `yaml:"externalTrafficPolicy"`
			Selector              map[string]string `yaml:"selector"`
			Ports                 []struct {
				Name       string `yaml:"name"`
				Port       int    `yaml:"port"`
				TargetPort string `yaml:"targetPort"`
				Protocol   string `yaml:"protocol"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	podDisruptionBudget struct {
		header `yaml:",inline"`
		Spec   struct {
			MinAvailable int           `yaml:"minAvailable"`
			Selector     labelSelector `yaml:"selector"`
		} `yaml:"spec"`
	}
)

// manifests decodes every document of path strictly, by kind.
func manifests(t *testing.T, path string) (objs []any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var doc yaml.Node
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("%s: document %d: %v", path, i, err)
		}
		var h header
		if err := doc.Decode(&h); err != nil {
			t.Fatalf("%s: document %d: %v", path, i, err)
		}
		want := map[string]struct {
			api string
			obj any
		}{
			"ConfigMap":           {"v1", &configMap{}},
			"Secret":              {"v1", &secret{}},
			"StatefulSet":         {"apps/v1", &statefulSet{}},
			"Service":             {"v1", &service{}},
			"PodDisruptionBudget": {"policy/v1", &podDisruptionBudget{}},
		}[h.Kind]
		if want.obj == nil {
			t.Fatalf("%s: document %d: kind %q is not one the test knows", path, i, h.Kind)
		}
		if h.APIVersion != want.api || h.Metadata.Name == "" {
			t.Fatalf("%s: %s %q: apiVersion %q, want %s, and a name", path, h.Kind, h.Metadata.Name, h.APIVersion, want.api)
		}
		var buf bytes.Buffer
		if err := yaml.NewEncoder(&buf).Encode(&doc); err != nil {
			t.Fatal(err)
		}
		strict := yaml.NewDecoder(&buf)
		strict.KnownFields(true)
		if err := strict.Decode(want.obj); err != nil {
			t.Fatalf("%s: %s %q: %v", path, h.Kind, h.Metadata.Name, err)
		}
		objs = append(objs, want.obj)
	}
}

// selects reports whether selector picks pods labelled labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestKubernetesManifests(t *testing.T) {
	var (
		configs  = map[string]*configMap{}
		secrets  = map[string]*secret{}
		services = map[string]*service{}
		sets     []*statefulSet
		pdbs     []*podDisruptionBudget
	)
	for _, o := range manifests(t, "kubernetes/ringproof.yaml") {
		switch o := o.(type) {
		case *configMap:
			configs[o.Metadata.Name] = o
		case *secret:
			secrets[o.Metadata.Name] = o
		case *service:
			services[o.Metadata.Name] = o
		case *statefulSet:
			sets = append(sets, o)
		case *podDisruptionBudget:
			pdbs = append(pdbs, o)
		}
	}
	if len(sets) != 1 {
		t.Fatalf("%d StatefulSets, want 1", len(sets))
	}
	ss := sets[0]
	pod := ss.Spec.Template
	if !selects(ss.Spec.Selector.MatchLabels, pod.Metadata.Labels) {
		t.Errorf("the StatefulSet's selector %v does not pick its pods %v", ss.Spec.Selector.MatchLabels, pod.Metadata.Labels)
	}
	if svc := services[ss.Spec.ServiceName]; svc == nil || svc.Spec.ClusterIP != "None" {
		t.Errorf("serviceName %q: want a headless Service of that name", ss.Spec.ServiceName)
	}
	sc := pod.Spec.SecurityContext
	if !sc.RunAsNonRoot || sc.RunAsUser != 65532 || sc.SeccompProfile.Type != "RuntimeDefault" {
		t.Errorf("pod securityContext %+v: want non-root uid 65532 (the image's) and the runtime's seccomp profile", sc)
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	if !c.SecurityContext.ReadOnlyRootFilesystem || c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation ||
		!slices.Equal(c.SecurityContext.Capabilities.Drop, []string{"ALL"}) {
		t.Errorf("container securityContext %+v: want a read-only root, no privilege escalation, every capability dropped", c.SecurityContext)
	}

	// The environment ringproof gets: the container's, then the Secret's.
	env := map[string]string{}
	for _, e := range c.Env {
		if strings.HasPrefix(e.Name, "RINGPROOF_") && !knownEnv(e.Name) {
			t.Errorf("env %s: ringproof reads no such variable", e.Name)
		}
		if e.ValueFrom != nil {
			env[e.Name] = "10.1.2.3" // what the downward API gives, for the check below
			continue
		}
		v := e.Value
		for k, val := range env { // $(VAR) as Kubernetes expands it
			v = strings.ReplaceAll(v, "$("+k+")", val)
		}
		env[e.Name] = v
	}
	for _, from := range c.EnvFrom {
		s := secrets[from.SecretRef.Name]
		if s == nil {
			t.Fatalf("envFrom: no Secret %q", from.SecretRef.Name)
		}
		for k, v := range s.StringData {
			if !knownEnv(k) {
				t.Errorf("Secret %s: %s: ringproof reads no such variable", s.Metadata.Name, k)
			}
			if strings.HasPrefix(v, "replace-with-openssl-rand-hex-32") {
				v = strings.Repeat("5a", 32) // a key, for the check below
			}
			env[k] = v
		}
	}

	// Ports: named, and the API's is http.listen's.
	ports := map[string]string{} // name -> protocol
	for _, p := range c.Ports {
		ports[p.Name] = p.Protocol
	}
	if _, port, _ := strings.Cut(env["RINGPROOF_HTTP_LISTEN"], ":"); ports["http"] != "TCP" || port != "8080" ||
		!slices.ContainsFunc(c.Ports, func(p struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
			Protocol      string `yaml:"protocol"`
		}) bool {
			return p.Name == "http" && p.ContainerPort == 8080
		}) {
		t.Errorf("port http %v and RINGPROOF_HTTP_LISTEN %q: want TCP 8080 on both", ports, env["RINGPROOF_HTTP_LISTEN"])
	}
	for _, p := range []struct {
		probe probe
		path  string
	}{{c.ReadinessProbe, "/readyz"}, {c.LivenessProbe, "/healthz"}} {
		if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != "http" {
			t.Errorf("probe %+v: want GET %s on port http", p.probe.HTTPGet, p.path)
		}
	}

	// Services pick the pods and name their ports; SIP over UDP and TCP.
	sipProtocols := map[string]bool{}
	for name, svc := range services {
		if !selects(svc.Spec.Selector, pod.Metadata.Labels) {
			t.Errorf("Service %s: selector %v picks no ringproof pod", name, svc.Spec.Selector)
		}
		for _, p := range svc.Spec.Ports {
			if proto, ok := ports[p.TargetPort]; !ok || proto != p.Protocol {
				t.Errorf("Service %s: port %s targets %q (%s), not a container port of that protocol", name, p.Name, p.TargetPort, p.Protocol)
			}
			if p.Port == 5060 {
				sipProtocols[p.Protocol] = true
			}
		}
	}
	if !sipProtocols["UDP"] || !sipProtocols["TCP"] {
		t.Errorf("SIP (5060) is served over %v, want UDP and TCP", sipProtocols)
	}
	for _, pdb := range pdbs {
		if !selects(pdb.Spec.Selector.MatchLabels, pod.Metadata.Labels) || pdb.Spec.MinAvailable >= ss.Spec.Replicas {
			t.Errorf("PodDisruptionBudget %s: want it to pick the pods and leave one to move (minAvailable < %d)", pdb.Metadata.Name, ss.Spec.Replicas)
		}
	}

	// The configuration file is where RINGPROOF_CONFIG says, and ringproof
	// accepts it with this environment.
	var file string
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Spec.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil && path.Dir(env["RINGPROOF_CONFIG"]) == m.MountPath {
				if cm := configs[v.ConfigMap.Name]; cm != nil {
					file = cm.Data[path.Base(env["RINGPROOF_CONFIG"])]
				}
			}
		}
	}
	if file == "" {
		t.Fatalf("RINGPROOF_CONFIG=%s is no file of a mounted ConfigMap", env["RINGPROOF_CONFIG"])
	}
	if _, err := conf.Parse([]byte(file), func(k string) string { return env[k] }); err != nil {
		t.Errorf("ringproof refuses the ConfigMap's configuration with the pod's environment:\n%v", err)
	}
}

// promtool returns the path of promtool, skipping the test without it
// (failing it under CI, where .ci/run installs it).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed (Debian's prometheus package; .ci/run installs it)")
		}
		t.Skip("promtool is not installed: the rules are not checked")
	}
	return p
}

func TestPrometheusRules(t *testing.T) {
	out, err := exec.Command(promtool(t), "check", "rules", "prometheus/alerts.yml").CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Title      string `json:"title"`
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID      int    `json:"id"`
		Type    string `json:"type"`
		Title   string `json:"title"`
		GridPos struct {
			H, W, X, Y int
		} `json:"gridPos"`
		Targets []struct {
			Expr  string `json:"expr"`
			RefID string `json:"refId"`
		} `json:"targets"`
	} `json:"panels"`
}

// TestGrafanaDashboard checks the dashboard's structure (panels with
// titles, on the grid, none overlapping) and has promtool parse every
// query, with Grafana's variables given values.
func TestGrafanaDashboard(t *testing.T) {
	data, err := os.ReadFile("grafana/ringproof.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("grafana/ringproof.json: %v", err)
	}
	if d.Title == "" || d.UID == "" {
		t.Fatal("the dashboard has no title or uid")
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	cells := map[[2]int]string{}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if p.Title == "" || p.Type == "" || ids[p.ID] {
			t.Errorf("panel %d %q: want a title, a type and an id of its own", p.ID, p.Title)
		}
		ids[p.ID] = true
		if p.GridPos.X+p.GridPos.W > 24 || p.GridPos.W == 0 || p.GridPos.H == 0 {
			t.Errorf("panel %q: gridPos %+v is off the 24-column grid", p.Title, p.GridPos)
		}
		for x := p.GridPos.X; x < p.GridPos.X+p.GridPos.W; x++ {
			for y := p.GridPos.Y; y < p.GridPos.Y+p.GridPos.H; y++ {
				if other, ok := cells[[2]int{x, y}]; ok {
					t.Fatalf("panels %q and %q overlap", other, p.Title)
				}
				cells[[2]int{x, y}] = p.Title
			}
		}
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			expr := q.Expr
			for _, v := range []string{"job", "instance"} {
				if strings.Contains(expr, "$"+v) && !vars[v] {
					t.Errorf("panel %q uses $%s, which the dashboard does not define", p.Title, v)
				}
				expr = strings.ReplaceAll(expr, "$"+v, ".*")
			}
			expr = strings.ReplaceAll(expr, "$__rate_interval", "5m")
			fmt.Fprintf(&rules, "      - record: dashboard:%s:%s\n        expr: %q\n", strings.Trim(strings.Map(func(r rune) rune {
				if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
					return r
				}
				return '_'
			}, strings.ToLower(p.Title)), "_"), q.RefID, expr)
		}
	}
	file := path.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(file, []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool(t), "check", "rules", file).CombinedOutput(); err != nil {
		t.Fatalf("promtool cannot parse the dashboard's queries: %v\n%s\n%s", err, out, rules.String())
	}
}
