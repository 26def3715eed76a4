package exporter

import (
	"context"
	"log/slog"
	"reflect"

	"proxmox_backup_exporter/collector"
	"proxmox_backup_exporter/proxmox"
)

// redactResult removes the target's secret and any Authorization value from
// every text of a probe result, before /probe, /status or /status.json show
// it: names, comments, tags, task errors and collector errors all come from
// the server, which may echo what it was sent.
func redactResult(r *collector.Result, red *proxmox.Redactor) {
	redactValue(reflect.ValueOf(r), red)
}

var errorType = reflect.TypeFor[error]()

func redactValue(v reflect.Value, red *proxmox.Redactor) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			redactValue(v.Elem(), red)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				redactValue(f, red)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			redactValue(v.Index(i), red)
		}
	case reflect.String:
		// Only a changed text is written: the result's slices may still be
		// read by a collector that missed the deadline.
		if s := red.String(v.String()); v.CanSet() && s != v.String() {
			v.SetString(s)
		}
	case reflect.Interface:
		if v.Type() == errorType && !v.IsNil() && v.CanSet() {
			err := v.Interface().(error)
			if msg := err.Error(); red.String(msg) != msg {
				v.Set(reflect.ValueOf(red.Error(err)))
			}
		}
	}
}

// redactHandler redacts the message and string and error attributes of
// every log record of a probe.
type redactHandler struct {
	next slog.Handler
	red  *proxmox.Redactor
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.red.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = h.attr(a)
	}
	return &redactHandler{next: h.next.WithAttrs(red), red: h.red}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{next: h.next.WithGroup(name), red: h.red}
}

func (h *redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.red.String(v.String()))
	case slog.KindGroup:
		group := v.Group()
		red := make([]any, len(group))
		for i, g := range group {
			red[i] = h.attr(g)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, h.red.String(x.Error()))
		case []string:
			red := make([]string, len(x))
			for i, s := range x {
				red[i] = h.red.String(s)
			}
			return slog.Any(a.Key, red)
		case []error:
			red := make([]string, len(x))
			for i, e := range x {
				red[i] = h.red.String(e.Error())
			}
			return slog.Any(a.Key, red)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// redactingLogger is logger with every record redacted.
func redactingLogger(logger *slog.Logger, red *proxmox.Redactor) *slog.Logger {
	return slog.New(&redactHandler{next: logger.Handler(), red: red})
}
