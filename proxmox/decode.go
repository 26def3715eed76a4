package proxmox

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// decodeData walks the {"data": ...} envelope and hands the decoder, positioned
// at the value of "data", to fn. Other keys ("total", "message") are skipped.
func decodeData(dec *json.Decoder, fn func(*json.Decoder) error) error {
	if err := expectDelim(dec, '{'); err != nil {
		return fmt.Errorf("want a JSON object with a \"data\" key: %w", err)
	}
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("unexpected %v in the envelope", tok)
		}
		if key != "data" || found {
			if err := skipValue(dec); err != nil {
				return err
			}
			continue
		}
		found = true
		if err := fn(dec); err != nil {
			return err
		}
	}
	if !found {
		return errors.New("response has no \"data\" key")
	}
	return expectDelim(dec, '}')
}

// eachElement calls fn for every element of the array at the decoder's
// position. A JSON null counts as an empty array.
func eachElement(dec *json.Decoder, fn func(*json.Decoder) error) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("want a JSON array, got %s", describeToken(tok))
	}
	for dec.More() {
		if err := fn(dec); err != nil {
			return err
		}
	}
	return expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
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
