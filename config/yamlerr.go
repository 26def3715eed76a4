package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// targetIndex maps the lines of a configuration file to the targets they
// belong to, so that parse errors can name the target as well as the line.
type targetIndex struct {
	spans []targetSpan
}

type targetSpan struct {
	name      string
	firstLine int
	value     *yaml.Node
}

func indexTargets(root *yaml.Node) *targetIndex {
	idx := &targetIndex{}
	doc := root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return idx
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value != "targets" || doc.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		m := doc.Content[i+1]
		for j := 0; j+1 < len(m.Content); j += 2 {
			idx.spans = append(idx.spans, targetSpan{name: m.Content[j].Value, firstLine: m.Content[j].Line, value: m.Content[j+1]})
		}
	}
	return idx
}

// targetAt returns the target whose definition holds the line, or "".
func (idx *targetIndex) targetAt(line int) string {
	name := ""
	for _, s := range idx.spans {
		if s.firstLine <= line {
			name = s.name
		}
	}
	return name
}

// integerFields are the target fields that hold a count.
var integerFields = map[string]bool{"concurrency": true, "max_response_bytes": true}

// fieldAt returns the target field whose definition holds the line, or "".
func (idx *targetIndex) fieldAt(line int) string {
	field := ""
	for _, s := range idx.spans {
		if s.firstLine > line {
			continue
		}
		field = ""
		for j := 0; j+1 < len(s.value.Content); j += 2 {
			if s.value.Content[j].Line <= line {
				field = s.value.Content[j].Value
			}
		}
	}
	return field
}

// checkDurations parses the duration fields itself: the duration type's own
// error names neither the line nor the target.
func (idx *targetIndex) checkDurations() error {
	var errs []error
	for _, s := range idx.spans {
		if s.value.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(s.value.Content); j += 2 {
			key, val := s.value.Content[j], s.value.Content[j+1]
			if integerFields[key.Value] {
				// yaml would truncate 1.5 to 1 and accept 1e3 and 0x10;
				// a count is written as a plain whole number.
				if val.Kind != yaml.ScalarNode || val.ShortTag() != "!!int" {
					errs = append(errs, fmt.Errorf("target %q: %s: line %d: want a whole number, got %q", s.name, key.Value, val.Line, val.Value))
				}
				continue
			}
			if key.Value != "timeout" && key.Value != "task_lookback" && key.Value != "recent_backup_window" && key.Value != "restore_lookback" {
				continue
			}
			if val.Kind != yaml.ScalarNode {
				errs = append(errs, fmt.Errorf("target %q: %s: line %d: want a duration such as 30s or 8d", s.name, key.Value, val.Line))
				continue
			}
			v := strings.TrimSpace(val.Value)
			if strings.HasPrefix(v, "-") {
				errs = append(errs, fmt.Errorf("target %q: %s: line %d: must not be negative, got %q", s.name, key.Value, val.Line, v))
				continue
			}
			if _, err := model.ParseDuration(v); err != nil {
				errs = append(errs, fmt.Errorf("target %q: %s: line %d: %q is not a duration such as 30s, 5m or 8d", s.name, key.Value, val.Line, v))
			}
		}
	}
	return errors.Join(errs...)
}

var (
	lineRE         = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownFieldRE = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
)

// annotate rewrites yaml's type errors to name the target, and unknown keys
// as such.
func (idx *targetIndex) annotate(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		// A field's own unmarshaler failed (a proxy_url that is no URL, an
		// unknown TLS version): yaml stops without saying where.
		if located := idx.locate(); located != nil {
			return located
		}
		return err
	}
	var errs []error
	for _, msg := range te.Errors {
		m := lineRE.FindStringSubmatch(msg)
		if m == nil {
			errs = append(errs, errors.New(msg))
			continue
		}
		line, _ := strconv.Atoi(m[1])
		text := m[2]
		if f := unknownFieldRE.FindStringSubmatch(text); f != nil {
			text = fmt.Sprintf("unknown key %q", f[1])
		}
		if name, field := idx.targetAt(line), idx.fieldAt(line); name != "" && field != "" {
			errs = append(errs, fmt.Errorf("target %q: %s: line %d: %s", name, field, line, text))
		} else if name != "" {
			errs = append(errs, fmt.Errorf("target %q: line %d: %s", name, line, text))
		} else {
			errs = append(errs, fmt.Errorf("line %d: %s", line, text))
		}
	}
	return errors.Join(errs...)
}

// locate decodes every field of every target on its own to find the ones
// whose unmarshaler fails, and names their target, field and line.
func (idx *targetIndex) locate() error {
	var errs []error
	for _, s := range idx.spans {
		if s.value.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(s.value.Content); j += 2 {
			key, val := s.value.Content[j], s.value.Content[j+1]
			one := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{key, val}}
			if err := one.Decode(&Target{}); err != nil {
				var te *yaml.TypeError
				if errors.As(err, &te) {
					continue // reported by the full decode, once this is fixed
				}
				errs = append(errs, fmt.Errorf("target %q: %s: line %d: %v", s.name, key.Value, val.Line, fieldError(err)))
			}
		}
	}
	return errors.Join(errs...)
}

// fieldError words an unmarshaler's error. A URL's parse error quotes the
// URL, which may hold a password: keep only the reason.
func fieldError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("not a valid URL: %v", ue.Err)
	}
	return err
}
