package proxmox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"time"
)

// Bounds on what one API response may make the exporter hold. Together with
// the per-target max_response_bytes they keep memory bounded whatever a
// broken or hostile server sends.
const (
	// MaxValueBytes bounds one JSON value as the decoder buffers it: a
	// string, a key, one element of a listing, a field that is skipped, or
	// the whole data of a response that is not a listing. Real values are
	// below 100 KiB (a snapshot with many disks, a long task log line).
	MaxValueBytes = 1 << 20
	// MaxElements bounds the entries kept from one listing: the elements of
	// a listing decoded into a slice, and the guests, groups, volumes'
	// guests, tasks or task log lines a collector keeps from a streamed
	// listing. Ten times the 10,000 groups or guests of the largest
	// installations benchmarked (docs/performance.md), and small enough that
	// a hostile listing of distinct entries stays far below 256 MiB (about
	// 700 bytes of resident memory per kept group).
	MaxElements = 100_000
)

// maxElements is MaxElements; tests lower it.
var maxElements = MaxElements

// ErrResponseTooLarge is the error of a response over max_response_bytes.
var ErrResponseTooLarge = errors.New("response too large")

// ErrValueTooLarge is the error of a JSON value over MaxValueBytes.
var ErrValueTooLarge = errors.New("JSON value too large")

// boundedReader counts the bytes of a (decompressed) body and fails once
// they pass the response bound, or the end of the window of the value being
// decoded. It never hands the decoder more than the bounds allow, so the
// decoder's buffer cannot grow past them.
type boundedReader struct {
	r    io.Reader
	n    int64 // bytes read so far
	max  int64 // the response bound
	end  int64 // the current value may not extend past this offset; 0: none
	err  error
	mark int64 // where the current value started, for the error message
	// ctx ends the reading even when the body is already in memory, as a
	// compressed body may be: its decompression never waits on the network.
	ctx context.Context
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.ctx != nil && b.ctx.Err() != nil {
		return 0, context.Cause(b.ctx)
	}
	// One byte past a bound tells a value that ends exactly at the bound
	// from one that goes on. A read that reaches a bound still succeeds:
	// the decoder may already hold the end of its value; only a read past
	// it fails.
	limit, byValue := b.max+1, false
	if b.end > 0 && b.end+1 < limit {
		limit, byValue = b.end+1, true
	}
	if b.n >= limit {
		err := b.overflow(byValue)
		if !byValue {
			b.err = err
		}
		return 0, err
	}
	if room := limit - b.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *boundedReader) overflow(byValue bool) error {
	if byValue {
		return fmt.Errorf("%w: a single JSON value (string, key or listing element) starting at byte %d is larger than %d bytes", ErrValueTooLarge, b.mark, MaxValueBytes)
	}
	return fmt.Errorf("%w: the body is larger than max_response_bytes (%d bytes after decompression)", ErrResponseTooLarge, b.max)
}

// stream is a decoder over a bounded body.
type stream struct {
	dec *json.Decoder
	br  *boundedReader
}

func newStream(r io.Reader, maxBytes int64) *stream {
	br := &boundedReader{r: r, max: maxBytes}
	dec := json.NewDecoder(br)
	dec.UseNumber()
	return &stream{dec: dec, br: br}
}

// value opens the window of the next value: it may take at most
// MaxValueBytes from the decoder's current position.
func (s *stream) value() {
	off := s.dec.InputOffset()
	s.br.mark, s.br.end = off, off+MaxValueBytes
}

// data walks the {"data": ...} envelope and hands the stream, positioned at
// the value of "data", to fn. Other keys ("total", "message") are skipped.
func (s *stream) data(fn func() error) error {
	s.value()
	if err := s.expectDelim('{'); err != nil {
		return fmt.Errorf("want a JSON object with a \"data\" key: %w", err)
	}
	found := false
	for {
		s.value()
		if !s.dec.More() {
			break
		}
		tok, err := s.dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("unexpected %v in the envelope", tok)
		}
		s.value()
		if key != "data" || found {
			if err := skipValue(s.dec); err != nil {
				return err
			}
			continue
		}
		found = true
		if err := fn(); err != nil {
			return err
		}
	}
	if !found {
		return errors.New("response has no \"data\" key")
	}
	s.value()
	return s.expectDelim('}')
}

// each calls fn for every element of the array at the stream's position,
// each element within its own window. A JSON null counts as an empty array.
func (s *stream) each(fn func(*json.Decoder) error) error {
	s.value()
	tok, err := s.dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("want a JSON array, got %s", describeToken(tok))
	}
	for {
		s.value()
		if !s.dec.More() {
			break
		}
		if err := fn(s.dec); err != nil {
			return err
		}
	}
	s.value()
	return s.expectDelim(']')
}

// into decodes the value at the stream's position into v. A listing
// decoded into a slice is read element by element, each within its window,
// and holds at most MaxElements elements; any other value is one value.
func (s *stream) into(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Slice {
		return s.dec.Decode(v)
	}
	slice := rv.Elem()
	slice.SetLen(0)
	elemType := slice.Type().Elem()
	return s.each(func(dec *json.Decoder) error {
		if slice.Len() >= maxElements {
			return fmt.Errorf("the listing has more than %d elements, the bound on elements kept from one response", maxElements)
		}
		elem := reflect.New(elemType)
		if err := dec.Decode(elem.Interface()); err != nil {
			return err
		}
		slice.Set(reflect.Append(slice, elem.Elem()))
		return nil
	})
}

func (s *stream) expectDelim(want json.Delim) error {
	tok, err := s.dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %s", want, describeToken(tok))
	}
	return nil
}

// skipValue consumes one JSON value of any shape.
func skipValue(dec *json.Decoder) error {
	var raw json.RawMessage
	return dec.Decode(&raw)
}

func describeToken(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return strconv.Quote(t.String())
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

// Timestamps outside these bounds are not dates a Proxmox server writes:
// the first is the Unix epoch, the second the end of year 9999, the last
// instant that RFC 3339 (and so JSON) can represent.
const (
	MinTimestamp int64 = 0
	MaxTimestamp int64 = 253402300799
)

// Timestamp turns Unix seconds from an API response into a time, or
// reports false when they are outside [MinTimestamp, MaxTimestamp].
func Timestamp(secs int64) (time.Time, bool) {
	if secs < MinTimestamp || secs > MaxTimestamp {
		return time.Time{}, false
	}
	return time.Unix(secs, 0), true
}
