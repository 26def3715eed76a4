package proxmox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Bool decodes the booleans of both products: PBS writes true/false, PVE
// writes 0/1, and some PVE storage plugins write "0"/"1".
type Bool bool

// UnmarshalJSON implements json.Unmarshaler.
func (b *Bool) UnmarshalJSON(data []byte) error {
	s := string(bytes.Trim(bytes.TrimSpace(data), `"`))
	switch s {
	case "true", "1":
		*b = true
	case "false", "0", "", "null":
		*b = false
	default:
		return fmt.Errorf("cannot read %s as a boolean", truncate(data))
	}
	return nil
}

// Int decodes an integer written as a JSON number or as a numeric string
// (Proxmox writes some counters as strings). A fractional number is
// truncated; null leaves the value unchanged.
type Int int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *Int) UnmarshalJSON(data []byte) error {
	s := string(bytes.Trim(bytes.TrimSpace(data), `"`))
	if s == "null" || s == "" {
		return nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = Int(v)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f || f > 9.2e18 || f < -9.2e18 {
		return fmt.Errorf("cannot read %s as an integer", truncate(data))
	}
	*n = Int(int64(f))
	return nil
}

// Float decodes a number written as a JSON number or a numeric string.
type Float float64

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(data []byte) error {
	s := string(bytes.Trim(bytes.TrimSpace(data), `"`))
	if s == "null" || s == "" {
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("cannot read %s as a number", truncate(data))
	}
	*f = Float(v)
	return nil
}

// String decodes a string that Proxmox may also write as a number (for
// example PVE's vmid lists or PBS backup ids).
type String string

// UnmarshalJSON implements json.Unmarshaler.
func (s *String) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var v string
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		*s = String(v)
		return nil
	}
	if string(data) == "null" {
		return nil
	}
	if _, err := strconv.ParseFloat(string(data), 64); err == nil {
		*s = String(data)
		return nil
	}
	return fmt.Errorf("cannot read %s as a string", truncate(data))
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}
