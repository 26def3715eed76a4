package proxmox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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
	// base is the offset in the body of the decoder's first byte: eachRaw
	// hands the rest of the body to a new decoder.
	base int64
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
	off := s.base + s.dec.InputOffset()
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

// maxDepth bounds the nesting of a value read by the element scanner, so
// that a hostile "[[[[..." cannot grow the stack.
const maxDepth = 1000

// errShort reports that a value goes on past the bytes at hand.
var errShort = errors.New("value continues past the buffer")

// syntaxError is a JSON syntax error found by the element scanner.
type syntaxError struct {
	off  int64
	what string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.what)
}

func badJSON(b []byte, i int, what string) error {
	if i < len(b) {
		what += fmt.Sprintf(", got %q", b[i])
	}
	return &syntaxError{off: int64(i), what: what}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanValue checks the JSON value that starts at b[i] (after white space)
// and returns the index just past it, or errShort when b ends before it.
func scanValue(b []byte, i, depth int) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return i, errShort
	}
	switch c := b[i]; {
	case c == '"':
		return scanString(b, i)
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return i, badJSON(b, i, fmt.Sprintf("nested deeper than %d", maxDepth))
		}
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return i, errShort
		}
		if b[i] == end {
			return i + 1, nil
		}
		for {
			var err error
			if c == '{' {
				i = skipSpace(b, i)
				if i >= len(b) {
					return i, errShort
				}
				if b[i] != '"' {
					return i, badJSON(b, i, "want an object key")
				}
				if i, err = scanString(b, i); err != nil {
					return i, err
				}
				i = skipSpace(b, i)
				if i >= len(b) {
					return i, errShort
				}
				if b[i] != ':' {
					return i, badJSON(b, i, "want ':' after an object key")
				}
				i++
			}
			if i, err = scanValue(b, i, depth+1); err != nil {
				return i, err
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return i, errShort
			}
			switch b[i] {
			case ',':
				i++
			case end:
				return i + 1, nil
			default:
				return i, badJSON(b, i, fmt.Sprintf("want ',' or '%c'", end))
			}
		}
	case c == '-' || c >= '0' && c <= '9':
		return scanNumber(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	}
	return i, badJSON(b, i, "want a JSON value")
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(b) {
			return i + k, errShort
		}
		if b[i+k] != lit[k] {
			return i + k, badJSON(b, i+k, "want "+lit)
		}
	}
	return i + len(lit), nil
}

// scanString checks the string that starts at the quote b[i].
func scanString(b []byte, i int) (int, error) {
	i++
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return i, errShort
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := 2; k < 6; k++ {
					if i+k >= len(b) {
						return i + k, errShort
					}
					if !isHex(b[i+k]) {
						return i + k, badJSON(b, i+k, "want a hex digit in a \\u escape")
					}
				}
				i += 6
			default:
				return i + 1, badJSON(b, i+1, "invalid escape")
			}
		case c < 0x20:
			return i, badJSON(b, i, "control character in a string")
		default:
			i++
		}
	}
	return i, errShort
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// scanNumber checks the number that starts at b[i]. A number that reaches
// the end of b may go on: it is short.
func scanNumber(b []byte, i int) (int, error) {
	digits := func(i int) (int, int) {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i, i - start
	}
	if b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return i, errShort
	}
	var n int
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i, _ = digits(i)
	default:
		return i, badJSON(b, i, "want a digit")
	}
	if i < len(b) && b[i] == '.' {
		if i, n = digits(i + 1); n == 0 {
			if i >= len(b) {
				return i, errShort
			}
			return i, badJSON(b, i, "want a digit after '.'")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i, n = digits(i); n == 0 {
			if i >= len(b) {
				return i, errShort
			}
			return i, badJSON(b, i, "want a digit in an exponent")
		}
	}
	if i >= len(b) {
		return i, errShort
	}
	return i, nil
}

// eachRaw calls fn with the bytes of every element of the array at the
// stream's position, the way each does, but reads the elements with a
// scanner of its own instead of the JSON decoder: a listing of 100,000
// snapshots decodes several times faster. Each element is a checked JSON
// value of at most MaxValueBytes; fn must not keep the slice. A JSON null
// counts as an empty array. The envelope after the array is read by a new
// decoder over what is left.
func (s *stream) eachRaw(fn func([]byte) error) error {
	start := s.base + s.dec.InputOffset()
	rest, _ := io.ReadAll(s.dec.Buffered())
	a := &rawArray{br: s.br, buf: append(make([]byte, 0, max(len(rest), 64<<10)), rest...), off: start}
	// The scanner bounds each element itself; the reader keeps bounding
	// the whole body and checking the deadline.
	s.br.end = 0
	err := a.run(fn)
	if err != nil {
		if se, ok := err.(*syntaxError); ok {
			se.off += a.off
		}
		return err
	}
	// A new decoder cannot start inside an object: it is given the start
	// of one, a member that it reads here, then the rest of the envelope.
	const resume = `{"":0`
	s.base = a.off + int64(a.pos) - int64(len(resume))
	s.dec = json.NewDecoder(io.MultiReader(strings.NewReader(resume), bytes.NewReader(a.buf[a.pos:]), s.br))
	s.dec.UseNumber()
	for range 2 {
		if _, err := s.dec.Token(); err != nil {
			return err
		}
	}
	var zero json.Number
	return s.dec.Decode(&zero)
}

// rawArray reads an array from buf, then from br. buf[pos:] is unread;
// off is the offset in the body of buf[0].
type rawArray struct {
	br  *boundedReader
	buf []byte
	pos int
	off int64
	eof bool
}

// next runs scan on the unread bytes, reading more while scan finds them
// short, and moves past what scan took. A value may take MaxValueBytes.
func (a *rawArray) next(scan func(b []byte, i int) (int, error)) ([]byte, error) {
	for {
		end, err := scan(a.buf, a.pos)
		if err == nil {
			v := a.buf[a.pos:end]
			a.pos = end
			return v, nil
		}
		if err != errShort {
			return nil, err
		}
		if err := a.fill(); err != nil {
			return nil, err
		}
	}
}

// fill reads more after the unread bytes, first moving them to the front.
func (a *rawArray) fill() error {
	if a.eof {
		return io.ErrUnexpectedEOF
	}
	if a.pos > 0 {
		n := copy(a.buf, a.buf[a.pos:])
		a.off += int64(a.pos)
		a.buf, a.pos = a.buf[:n], 0
	}
	limit := MaxValueBytes + 1
	if len(a.buf) >= limit {
		a.br.mark = a.off
		return a.br.overflow(true)
	}
	if len(a.buf) == cap(a.buf) {
		grown := make([]byte, len(a.buf), min(2*cap(a.buf), limit))
		copy(grown, a.buf)
		a.buf = grown
	}
	n, err := a.br.Read(a.buf[len(a.buf):min(cap(a.buf), limit)])
	a.buf = a.buf[:len(a.buf)+n]
	if err == io.EOF {
		a.eof = true
		err = nil
	}
	if n == 0 && err == nil && !a.eof {
		return nil // the scan is retried; a reader may return nothing
	}
	return err
}

func (a *rawArray) run(fn func([]byte) error) error {
	first, err := a.next(func(b []byte, i int) (int, error) {
		// The decoder that read the key leaves its colon.
		i = skipSpace(b, i)
		if i < len(b) && b[i] == ':' {
			i = skipSpace(b, i+1)
		}
		if i >= len(b) {
			return i, errShort
		}
		if b[i] == 'n' {
			return scanLiteral(b, i, "null")
		}
		if b[i] != '[' {
			return i, badJSON(b, i, "want a JSON array")
		}
		return i + 1, nil
	})
	if err != nil {
		return err
	}
	if bytes.HasSuffix(first, []byte("null")) {
		return nil
	}
	for n := 0; ; n++ {
		// The end of the array, or a comma after an element.
		sep, err := a.next(func(b []byte, i int) (int, error) {
			i = skipSpace(b, i)
			if i >= len(b) {
				return i, errShort
			}
			switch {
			case b[i] == ']':
				return i + 1, nil
			case n == 0:
				return i, nil
			case b[i] == ',':
				return i + 1, nil
			}
			return i, badJSON(b, i, "want ',' or ']'")
		})
		if err != nil {
			return err
		}
		if len(sep) > 0 && sep[len(sep)-1] == ']' {
			return nil
		}
		elem, err := a.next(func(b []byte, i int) (int, error) { return scanValue(b, i, 0) })
		if err != nil {
			return err
		}
		if err := fn(bytes.TrimLeft(elem, " \t\r\n")); err != nil {
			return err
		}
	}
}

// Fields calls fn with the key and the raw value of every member of the
// JSON object v, in order; a null v has no members. Values are sub-slices
// of v, for AppendString, Int.UnmarshalJSON and the like. An empty v (an
// absent field) is null.
func Fields(v []byte, fn func(key, value []byte) error) error {
	return members(v, '{', fn)
}

// Elements calls fn with the raw value of every element of the JSON array
// v, in order; a null v has no elements.
func Elements(v []byte, fn func(value []byte) error) error {
	return members(v, '[', func(_, value []byte) error { return fn(value) })
}

func members(v []byte, open byte, fn func(key, value []byte) error) error {
	i := skipSpace(v, 0)
	if i == len(v) || bytes.HasPrefix(v[i:], []byte("null")) {
		return nil
	}
	if v[i] != open {
		kind := "an object"
		if open == '[' {
			kind = "an array"
		}
		return fmt.Errorf("want %s, got %s", kind, truncate(v))
	}
	// One pass checks and walks: every key and value is checked as it is
	// met, and so is what comes between them.
	short := func(i int, err error) (int, error) {
		if err == errShort {
			err = io.ErrUnexpectedEOF
		}
		return i, err
	}
	closing := open + 2 // '}' is '{'+2, ']' is '['+2
	i = skipSpace(v, i+1)
	if i < len(v) && v[i] == closing {
		return nil
	}
	for {
		var key []byte
		if open == '{' {
			if i >= len(v) || v[i] != '"' {
				return badJSON(v, i, "want an object key")
			}
			end, err := short(scanString(v, i))
			if err != nil {
				return err
			}
			key = v[i+1 : end-1]
			if bytes.IndexByte(key, '\\') >= 0 {
				if key, err = AppendString(nil, v[i:end]); err != nil {
					return err
				}
			}
			i = skipSpace(v, end)
			if i >= len(v) || v[i] != ':' {
				return badJSON(v, i, "want ':' after an object key")
			}
			i = skipSpace(v, i+1)
		}
		end, err := short(scanValue(v, i, 1))
		if err != nil {
			return err
		}
		if err := fn(key, v[i:end]); err != nil {
			return err
		}
		i = skipSpace(v, end)
		switch {
		case i < len(v) && v[i] == ',':
			i = skipSpace(v, i+1)
		case i < len(v) && v[i] == closing:
			return nil
		default:
			return badJSON(v, i, fmt.Sprintf("want ',' or '%c'", closing))
		}
	}
}

// AppendString appends the JSON string v, unquoted, to dst. A null appends
// nothing; anything else is an error. Like encoding/json, it turns invalid
// UTF-8 into U+FFFD. An empty v (an absent field) is null.
func AppendString(dst, v []byte) ([]byte, error) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		if in := v[1 : len(v)-1]; bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
			return append(dst, in...), nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return dst, err
		}
		return append(dst, s...), nil
	}
	if len(v) == 0 || string(v) == "null" {
		return dst, nil
	}
	return dst, fmt.Errorf("want a string, got %s", truncate(v))
}
