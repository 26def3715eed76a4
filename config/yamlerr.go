package config

import (
	"errors"
	"fmt"
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
			if key.Value != "timeout" && key.Value != "task_lookback" {
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
		if name := idx.targetAt(line); name != "" {
			errs = append(errs, fmt.Errorf("target %q: line %d: %s", name, line, text))
		} else {
			errs = append(errs, fmt.Errorf("line %d: %s", line, text))
		}
	}
	return errors.Join(errs...)
}
