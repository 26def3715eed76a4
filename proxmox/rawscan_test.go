package proxmox

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// The element scanner accepts exactly the values encoding/json accepts.
var scanCorpus = []string{
	`0`, `-0`, `12`, `-1.5e+10`, `1E3`, `0.25`, `01`, `1.`, `.5`, `-`, `1e`, `1e+`, `+1`, `0x10`,
	`"x"`, `""`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\uD83D\uDE00"`, `"\u12"`, `"\x"`, "\"tab\there\"", "\"\x01\"", `"unterminated`,
	"\"\xff\"", `true`, `false`, `null`, `tru`, `nul`, `True`, `nan`,
	`{}`, `[]`, `{ }`, `[ ]`, `{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":}`, `{,}`, `[1,]`, `[,1]`, `[1 2]`,
	`[1,[2,{"x":[null,true,"s"]}]]`, `{"a":{"b":{"c":[]}}}`, `[`, `{"a"`, `{"a":[1,2`, `]`, `}`,
	` [1] `, "\t{\"k\" :\n\"v\"\r}",
}

func TestScanValueAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range scanCorpus {
		b := []byte(in)
		// A number at the end of the bytes at hand may go on: a space
		// ends it. Any other value that scans short is invalid.
		padded := append(b[:len(b):len(b)], ' ')
		end, err := scanValue(padded, 0, 0)
		ok := err == nil && skipSpace(padded, end) == len(padded)
		if want := json.Valid(b); ok != want {
			t.Errorf("%q: scanner accepts it: %v, encoding/json: %v (err %v)", in, ok, want, err)
		}
	}
}

func FuzzScanValue(f *testing.F) {
	for _, in := range scanCorpus {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		padded := append(b[:len(b):len(b)], ' ')
		end, err := scanValue(padded, 0, 0)
		ok := err == nil && skipSpace(padded, end) == len(padded)
		if json.Valid(b) != ok && !(err != nil && strings.Contains(err.Error(), "nested deeper")) {
			t.Fatalf("%q: scanner %v (%v), encoding/json %v", b, ok, err, !ok)
		}
	})
}

// eachRawAll reads body with DecodeEachRaw, one byte per read so that every
// value is cut at every place, and returns the elements.
func eachRawAll(body string, oneByte bool) ([]string, error) {
	var r io.Reader = strings.NewReader(body)
	if oneByte {
		r = iotest.OneByteReader(r)
	}
	var got []string
	err := DecodeEachRaw(r, func(elem []byte) error {
		got = append(got, string(elem))
		return nil
	})
	return got, err
}

func TestEachRawElements(t *testing.T) {
	for _, tc := range []struct {
		body string
		want []string
		err  string
	}{
		{`{"data":[1, "two" ,{"k":[3,{"x":null}]}, [] ,true]}`, []string{`1`, `"two"`, `{"k":[3,{"x":null}]}`, `[]`, `true`}, ""},
		// Keys before and after the data are read as before.
		{`{"total":2,"data":[{"a":"x\"]"},-1.5e3],"message":"m","extra":{"y":[1]}}`, []string{`{"a":"x\"]"}`, `-1.5e3`}, ""},
		{` { "data" : [ ] } `, nil, ""},
		{`{"data":null,"total":0}`, nil, ""},
		{`{"data":[1,2],"data":[3]}`, []string{"1", "2"}, ""},
		{`{"total":1}`, nil, `no "data" key`},
		{`{"data":{"a":1}}`, nil, "want a JSON array"},
		{`{"data":[1,]}`, []string{"1"}, "want a JSON value"},
		{`{"data":[1 2]}`, []string{"1"}, "want ',' or ']'"},
		{`{"data":[{"a":1}`, []string{`{"a":1}`}, "unexpected EOF"},
		{`{"data":[{"a":1]}`, nil, "want ',' or '}'"},
		{`{"data":[1],"x":}`, []string{"1"}, "invalid character"},
		{`{"data":[1]`, []string{"1"}, "EOF"},
	} {
		for _, oneByte := range []bool{false, true} {
			got, err := eachRawAll(tc.body, oneByte)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("%s (one byte per read: %v): error %v, want %q", tc.body, oneByte, err, tc.err)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("%s (one byte per read: %v): elements %q, want %q", tc.body, oneByte, got, tc.want)
			}
		}
	}
}

// A syntax error names its offset in the body, across buffer refills.
func TestEachRawErrorOffset(t *testing.T) {
	elem := `{"backup-type":"vm","backup-id":"100"}`
	body := `{"data":[` + strings.Repeat(elem+",", 5000) + `{"backup-type":vm}]}`
	_, err := eachRawAll(body, false)
	want := len(body) - len(`vm}]}`)
	var se *syntaxError
	if !errors.As(err, &se) || se.off != int64(want) {
		t.Fatalf("error %v, want a syntax error at byte %d", err, want)
	}
}

func TestEachRawBounds(t *testing.T) {
	// An element of exactly the bound passes; one byte more fails.
	fit := `"` + strings.Repeat("a", MaxValueBytes-2) + `"`
	got, err := eachRawAll(`{"data":[`+fit+`,1]}`, false)
	if err != nil || len(got) != 2 || len(got[0]) != MaxValueBytes {
		t.Fatalf("an element of MaxValueBytes: %v", err)
	}
	for name, body := range map[string]string{
		"string":  `{"data":[1,"` + strings.Repeat("a", MaxValueBytes) + `"]}`,
		"object":  `{"data":[{"k":[` + strings.Repeat(`1,`, MaxValueBytes/2) + `1]}]}`,
		"spaces":  `{"data":[1,` + strings.Repeat(" ", MaxValueBytes+1) + `2]}`,
		"endless": `{"data":["` + strings.Repeat("a", 4*MaxValueBytes),
	} {
		_, err := eachRawAll(body, false)
		if !errors.Is(err, ErrValueTooLarge) || !strings.Contains(err.Error(), "larger than 1048576 bytes") {
			t.Errorf("%s: %v, want ErrValueTooLarge", name, err)
		}
	}
	// Deep nesting is an error, not a deep stack.
	deep := `{"data":[` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `]}`
	if _, err := eachRawAll(deep, false); err == nil || !strings.Contains(err.Error(), "nested deeper than 1000") {
		t.Errorf("deep nesting: %v", err)
	}
	// The body bound holds for what the scanner reads.
	body := `{"data":[` + strings.Repeat(`"abcdefgh",`, 1000) + `1]}`
	st := newStream(strings.NewReader(body), int64(len(body)-100))
	err = st.data(func() error { return st.eachRaw(func([]byte) error { return nil }) })
	if !errors.Is(err, ErrResponseTooLarge) {
		t.Errorf("a body over its bound: %v", err)
	}
	st = newStream(strings.NewReader(body), int64(len(body)))
	n := 0
	if err := st.data(func() error { return st.eachRaw(func([]byte) error { n++; return nil }) }); err != nil || n != 1001 {
		t.Errorf("a body of exactly its bound: %v, %d elements", err, n)
	}
}

func TestFieldsAndStrings(t *testing.T) {
	obj := []byte(`{"a":"x", "b\u0021" : [1,{"c":2}] ,"n":null,"s":"caf\u00e9 \"q\"","bad":"` + "\xff" + `"}`)
	var keys, vals []string
	if err := Fields(obj, func(k, v []byte) error {
		keys, vals = append(keys, string(k)), append(vals, string(v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, "|") != `a|b!|n|s|bad` || strings.Join(vals, "|") != `"x"|[1,{"c":2}]|null|"caf\u00e9 \"q\""|"`+"\xff"+`"` {
		t.Fatalf("keys %q, values %q", keys, vals)
	}
	for _, v := range vals {
		got, err := AppendString([]byte("pre:"), []byte(v))
		var want string
		jerr := json.Unmarshal([]byte(v), &want)
		if v[0] == '[' {
			if err == nil {
				t.Errorf("%s: a string from an array", v)
			}
			continue
		}
		if err != nil || jerr != nil || string(got) != "pre:"+want {
			t.Errorf("%s: %q (%v), encoding/json %q (%v)", v, got, err, want, jerr)
		}
	}
	var elems []string
	if err := Elements([]byte(` [ 1 , "x",{} ]`), func(v []byte) error { elems = append(elems, string(v)); return nil }); err != nil || strings.Join(elems, "|") != `1|"x"|{}` {
		t.Errorf("elements %q (%v)", elems, err)
	}
	for _, bad := range []string{`[1]`, `"s"`, `{"a":1`, `{"a" 1}`} {
		if err := Fields([]byte(bad), func(k, v []byte) error { return nil }); err == nil {
			t.Errorf("Fields(%s): no error", bad)
		}
	}
	for _, empty := range []string{``, `null`, ` null`} {
		called := false
		if err := Fields([]byte(empty), func(k, v []byte) error { called = true; return nil }); err != nil || called {
			t.Errorf("Fields(%q): %v, called %v", empty, err, called)
		}
	}
	if got, err := AppendString(nil, []byte("12")); err == nil {
		t.Errorf("AppendString(12) = %q, want an error", got)
	}
	if !bytes.Equal(must(AppendString([]byte("k"), nil)), []byte("k")) {
		t.Error("an absent string appends nothing")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
